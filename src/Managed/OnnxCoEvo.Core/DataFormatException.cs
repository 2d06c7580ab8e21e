namespace OnnxCoEvo.Core;

/// <summary>
/// Bad input in a file the toolkit reads. Every reader throws this with the file and the position
/// (byte offset, line number, JSON path or tensor field) so a user can find the fault without a debugger.
/// </summary>
public sealed class DataFormatException : FormatException
{
    public DataFormatException(string filePath, string position, string problem, Exception? inner = null)
        : base($"{filePath}: {position}: {problem}", inner)
    {
        FilePath = filePath;
        Position = position;
        Problem = problem;
    }

    /// <summary>The file that holds the fault (as given by the caller; "<memory>" for in-memory input).</summary>
    public string FilePath { get; }

    /// <summary>Where in the file: "byte 8", "line 3", "tensor 'w' field data_offsets", "$.model.merges[12]".</summary>
    public string Position { get; }

    /// <summary>What is wrong, without the file and position.</summary>
    public string Problem { get; }
}
