using System.Globalization;
using CommandLine;
using OnnxCoEvo.Cli.Terminal;
using OnnxCoEvo.Core.Trajectories;
using Spectre.Console;

namespace OnnxCoEvo.Cli.Commands;

[Verb("info", HelpText = "Summarise a trajectory or preference-pair file: format, counts, success rate, mean reward x100, torn tail.")]
public sealed class DataInfoCommand : ICliCommand
{
    [Value(0, MetaName = "FILE", Required = true, HelpText = "Dataset file (or a directory of ETO explored outputs).")]
    public string Path { get; set; } = "";

    [Option("format", HelpText = "jsonl | pairs-jsonl | eto-sft | eto-dpo | agentgym | eto-explored | trl-dpo (default: detected).")]
    public string? Format { get; set; }

    [Option("env", HelpText = "Environment of ETO files, when the file name does not start with it.")]
    public string? Environment { get; set; }

    public int Run()
    {
        TrajectoryFormat format = DatasetFiles.ResolveFormat(Path, Format);
        var table = new KeyValueTable();
        table.Add("file", Path);
        table.Add("format", TrajectoryFormats.Name(format));
        JsonlTornTail? torn;
        if (DatasetFiles.HoldsPairs(format))
        {
            PreferenceDataset data = DatasetFiles.ReadPairs(Path, format, dropInvalidPairs: true);
            torn = data.TornTail;
            table.Add("preference pairs", Count(data.Pairs.Count));
            table.Add("dropped (rule broken)", Count(data.Dropped.Count));
            if (data.Pairs.Count > 0)
            {
                table.Add("mean turns prompt / chosen / rejected",
                    $"{Mean(data.Pairs, p => p.Prompt.Count)} / {Mean(data.Pairs, p => p.Chosen.Count)} / {Mean(data.Pairs, p => p.Rejected.Count)}");
            }
            foreach (DroppedPreferencePair d in data.Dropped.Take(5))
                table.Add("  dropped", $"{d.Id} at {d.Position}: {d.Problem}");
        }
        else
        {
            TrajectoryDataset data = DatasetFiles.ReadTrajectories(Path, format, Environment);
            torn = data.TornTail;
            IReadOnlyList<Trajectory> t = data.Trajectories;
            table.Add("trajectories", Count(t.Count));
            if (t.Count > 0)
            {
                int wins = t.Count(x => x.Success);
                table.Add("environments", string.Join(", ", t.GroupBy(x => x.Environment).Select(g => $"{g.Key} ({g.Count()})")));
                table.Add("success", string.Create(CultureInfo.InvariantCulture, $"{wins} ({100.0 * wins / t.Count:0.0}%)"));
                table.Add("mean reward x100", string.Create(CultureInfo.InvariantCulture, $"{100 * t.Average(x => x.Reward):0.00}"));
                table.Add("mean steps / turns", $"{Mean(t, x => x.Steps)} / {Mean(t, x => x.Turns.Count)}");
                table.Add("end reasons", string.Join(", ", t.GroupBy(x => x.EndReason).OrderByDescending(g => g.Count()).Select(g => $"{g.Key} {g.Count()}")));
                table.Add("policies", string.Join(", ", t.GroupBy(x => x.Policy).Select(g => $"{g.Key} ({g.Count()})")));
            }
        }
        if (torn is not null)
            table.Add("torn last line", $"line {torn.LineNumber} at byte {torn.ByteOffset}: {torn.Problem} (every record before it was read)");
        table.Write();
        return 0;
    }

    private static string Count(int n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static string Mean<T>(IReadOnlyList<T> items, Func<T, int> value) =>
        items.Average(x => value(x)).ToString("0.0", CultureInfo.InvariantCulture);
}

[Verb("convert", HelpText = "Convert between dataset formats: trajectories (jsonl, eto-sft, agentgym) or pairs (pairs-jsonl, eto-dpo, trl-dpo).")]
public sealed class DataConvertCommand : ICliCommand
{
    [Value(0, MetaName = "IN", Required = true, HelpText = "Input file (or a directory of ETO explored outputs).")]
    public string In { get; set; } = "";

    [Option("to", Required = true, HelpText = "Output format: jsonl | eto-sft | agentgym | pairs-jsonl | eto-dpo | trl-dpo.")]
    public string To { get; set; } = "";

    [Option("out", Required = true, HelpText = "Output file (written atomically; an existing file is replaced only when complete).")]
    public string Out { get; set; } = "";

    [Option("from", HelpText = "Input format (default: detected).")]
    public string? From { get; set; }

    [Option("env", HelpText = "Environment of ETO files, when the file name does not start with it.")]
    public string? Environment { get; set; }

    [Option("split", HelpText = "Split to record on imported trajectories (train, test, ...).")]
    public string? Split { get; set; }

    [Option("drop-invalid", HelpText = "Drop preference pairs that break the rules (as ETO does) instead of stopping at the first.")]
    public bool DropInvalid { get; set; }

    public int Run()
    {
        TrajectoryFormat from = DatasetFiles.ResolveFormat(In, From);
        TrajectoryFormat to = DatasetFiles.ParseFormat(To);
        if (DatasetFiles.HoldsPairs(from) != DatasetFiles.HoldsPairs(to))
            throw new ArgumentException($"cannot convert {TrajectoryFormats.Name(from)} to {TrajectoryFormats.Name(to)}: one holds trajectories, the other preference pairs");
        if (string.Equals(System.IO.Path.GetFullPath(In), System.IO.Path.GetFullPath(Out), StringComparison.Ordinal))
            throw new ArgumentException($"--out must differ from the input ({In})");

        int count;
        if (DatasetFiles.HoldsPairs(from))
        {
            PreferenceDataset data = DatasetFiles.ReadPairs(In, from, DropInvalid);
            DatasetFiles.WritePairs(Out, to, data.Pairs);
            count = data.Pairs.Count;
            if (data.Dropped.Count > 0)
                AnsiConsole.MarkupLine($"[yellow]dropped[/] {data.Dropped.Count} pair(s) that break the rules");
        }
        else
        {
            TrajectoryDataset data = DatasetFiles.ReadTrajectories(In, from, Environment, Split);
            DatasetFiles.WriteTrajectories(Out, to, data.Trajectories);
            count = data.Trajectories.Count;
        }
        AnsiConsole.MarkupLine($"[green]wrote[/] {count} record(s) {Markup.Escape(TrajectoryFormats.Name(from))} -> {Markup.Escape(TrajectoryFormats.Name(to))}: {Markup.Escape(Out)}");
        return 0;
    }
}
