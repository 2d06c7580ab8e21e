namespace OnnxCoEvo.Cli.Commands;

/// <summary>A parsed verb. Options classes implement this so parsing and running stay in one place.</summary>
public interface ICliCommand
{
    /// <summary>Runs the verb and returns the process exit code (0 success, 1 failure, 2 bad input).</summary>
    int Run();
}
