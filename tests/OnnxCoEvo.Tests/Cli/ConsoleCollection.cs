namespace OnnxCoEvo.Tests.Cli;

/// <summary>
/// Tests that drive the CLI share the process's console: Spectre.Console allows one live display (progress bar) at a
/// time, and some tests redirect Console.Error. Classes in this collection run one after another.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ConsoleCollection
{
    public const string Name = "console";
}
