using CommandLine;
using OnnxCoEvo.Cli.Commands;
using OnnxCoEvo.Core;
using OnnxCoEvo.Onnx.Native;
using OnnxCoEvo.Onnx.Runtime;

namespace OnnxCoEvo.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        try
        {
            return Dispatch(args, Console.Out);
        }
        catch (Exception ex) when (IsUserFacing(ex))
        {
            // Bad input or an environment problem: the message already names the file and field; no stack trace.
            Console.Error.WriteLine($"error: {ex.Message}");
            return 2;
        }
    }

    /// <summary>Parses and runs one command line; used by tests to drive the CLI in-process.</summary>
    public static int Dispatch(string[] args, TextWriter helpOut)
    {
        if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
        {
            WriteOverview(helpOut);
            return args.Length == 0 ? 2 : 0;
        }
        if (args[0] == "--version")
        {
            helpOut.WriteLine(typeof(Program).Assembly.GetName().Version?.ToString(3) ?? "unknown");
            return 0;
        }

        CommandCatalog.VerbGroup? group = CommandCatalog.FindGroup(args[0]);
        string[] rest = group is null ? args : args[1..];
        group ??= CommandCatalog.Groups[0];
        if (group.Name.Length > 0 && rest.Length == 0)
            rest = ["--help"];

        using var parser = new Parser(s =>
        {
            s.HelpWriter = helpOut;
            s.CaseInsensitiveEnumValues = true;
            s.AutoVersion = false;
        });
        return parser.ParseArguments(rest, group.Verbs).MapResult(
            (object command) => ((ICliCommand)command).Run(),
            errors => errors.IsHelp() ? 0 : 2);
    }

    private static bool IsUserFacing(Exception ex) => ex is DataFormatException or FileNotFoundException
        or DirectoryNotFoundException or ArgumentException or InvalidOperationException or IOException
        or UnauthorizedAccessException or NotSupportedException or OrtException or OrtProviderUnavailableException;

    private static void WriteOverview(TextWriter o)
    {
        o.WriteLine("coevo: make LLM agents better from their failures (EEF, co-evolving agents, SFT/RFT/ETO).");
        o.WriteLine();
        o.WriteLine("usage: coevo <group> <verb> [options]   |   coevo <verb> [options]   |   coevo <group> <verb> --help");
        o.WriteLine();
        foreach (CommandCatalog.VerbGroup g in CommandCatalog.Groups)
        {
            foreach (Type verb in g.Verbs)
            {
                string name = g.Name.Length == 0 ? CommandCatalog.VerbName(verb) : $"{g.Name} {CommandCatalog.VerbName(verb)}";
                o.WriteLine($"  {name,-22} {CommandCatalog.VerbHelp(verb)}");
            }
        }
    }
}
