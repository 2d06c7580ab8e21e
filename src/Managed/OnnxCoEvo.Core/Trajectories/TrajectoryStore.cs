using System.Text.Json;
using OnnxCoEvo.Core.Json;

namespace OnnxCoEvo.Core.Trajectories;

/// <summary>
/// A <c>trajectories.jsonl</c> file: durable, thread-safe appends as episodes end (see <see cref="JsonlAppender{T}"/>
/// for the fsync and torn-tail rules) and streaming reads with line numbers.
/// </summary>
public sealed class TrajectoryStore : IDisposable
{
    private readonly JsonlAppender<Trajectory> _appender;

    private TrajectoryStore(JsonlAppender<Trajectory> appender) => _appender = appender;

    public string FilePath => _appender.FilePath;

    /// <summary>The torn last line moved to a side file when the store was opened, or null.</summary>
    public JsonlTornTail? RecoveredTornTail => _appender.RecoveredTornTail;

    /// <summary>Opens or creates the file for appending; a torn last line is moved to <c>&lt;name&gt;.torn-&lt;timestamp&gt;</c> first.</summary>
    public static TrajectoryStore OpenForAppend(string path) => new(JsonlAppender<Trajectory>.Open(path, TrajectoryJson.Codec));

    /// <summary>Writes one line and fsyncs before returning. Throws <see cref="ArgumentException"/> for an unwritable record.</summary>
    public void Append(Trajectory trajectory) => _appender.Append(trajectory);

    /// <summary>Writes all lines with one write and one fsync.</summary>
    public void AppendRange(IEnumerable<Trajectory> trajectories) => _appender.AppendRange(trajectories);

    public void Dispose() => _appender.Dispose();

    public static IEnumerable<JsonlRecord<Trajectory>> Read(string path, JsonlReadOptions? options = null) =>
        JsonlReader.Read(path, TrajectoryJson.Codec, options);

    public static IEnumerable<JsonlRecord<Trajectory>> Read(Stream stream, string sourceName, JsonlReadOptions? options = null) =>
        JsonlReader.Read(stream, sourceName, TrajectoryJson.Codec, options);

    public static JsonlReadResult<Trajectory> ReadAll(string path, bool strict = false) =>
        JsonlReader.ReadAll(path, TrajectoryJson.Codec, strict);

    /// <summary>
    /// The task ids of every complete record, for resuming a farm. Fast: it reads each line only up to its
    /// "task_id" member (the second one the writer emits) and parses no turns. A torn last line does not count
    /// (its episode did not finish); it is reported through <paramref name="options"/> like in <see cref="Read(string, JsonlReadOptions?)"/>.
    /// </summary>
    public static IReadOnlySet<string> ReadTaskIds(string path, JsonlReadOptions? options = null)
    {
        using FileStream stream = JsonlReader.OpenForReading(path);
        return ReadTaskIds(stream, path, options);
    }

    public static IReadOnlySet<string> ReadTaskIds(Stream stream, string sourceName, JsonlReadOptions? options = null)
    {
        options ??= new JsonlReadOptions();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonlLine line in JsonlLines.Read(stream))
        {
            if (line.IsBlank)
                continue;
            if (!line.Terminated)
            {
                // The last line may be torn even when its task_id is readable: only a complete one counts.
                using JsonDocument? document = JsonlReader.ParseLine(line, sourceName, options);
                if (document is null)
                    break;
            }
            ids.Add(FindTaskId(line, sourceName));
        }
        return ids;
    }

    /// <summary>The line's top-level "task_id"; the rest of the line is tokenised (not materialised) so a broken line still fails.</summary>
    private static string FindTaskId(JsonlLine line, string sourceName)
    {
        var reader = new Utf8JsonReader(line.Bytes.Span);
        string? taskId = null;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new DataFormatException(sourceName, $"line {line.Number}", "expected a JSON object");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isTaskId = taskId is null && reader.ValueTextEquals("task_id"u8);
                reader.Read();
                if (isTaskId)
                {
                    if (reader.TokenType != JsonTokenType.String || reader.ValueSpan.IsEmpty)
                        throw new DataFormatException(sourceName, $"line {line.Number} $.task_id", "expected a non-empty string");
                    taskId = reader.GetString()!;
                }
                reader.Skip();
            }
            while (reader.Read()) { } // trailing content after the object is an error too
        }
        catch (JsonException e)
        {
            throw new JsonSource(sourceName, line.Number).SyntaxError(e, JsonSyntaxErrorFormat.Record);
        }
        return taskId ?? throw new DataFormatException(sourceName, $"line {line.Number}", "missing required field \"task_id\"");
    }
}
