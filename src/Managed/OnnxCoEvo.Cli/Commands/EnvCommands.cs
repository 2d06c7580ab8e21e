using System.Globalization;
using CommandLine;
using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Cli.Terminal;
using Spectre.Console;

namespace OnnxCoEvo.Cli.Commands;

[Verb("info", HelpText = "Show an environment: splits and task counts, protocol, expert failure modes, and a task's first observation.")]
public sealed class EnvInfoCommand : EnvironmentOptions, ICliCommand
{
    [Option("task", Default = -1, HelpText = "Show this task's first observation (default: the first test task).")]
    public int Task { get; set; }

    public int Run() => RunAsync().GetAwaiter().GetResult();

    private async Task<int> RunAsync()
    {
        IEnvironmentSuite suite = OpenEnvironment();
        var table = new KeyValueTable();
        table.Add("environment", $"{suite.Name} (AgentGym dialect: {suite.Dialect})");
        foreach (string split in suite.Splits)
            table.Add($"split {split}", $"{suite.Tasks(split).Count} tasks");
        table.Add("max steps", suite.Protocol.MaxSteps.ToString(CultureInfo.InvariantCulture));
        table.Add("timeout reward", suite.Protocol.ZeroRewardOnTimeout ? "0 (as ETO)" : "kept");
        table.Add("expert failure modes", string.Join(", ", suite.ExpertFailureModes.Select(kv =>
            $"{kv.Key}={kv.Value.ToString("0.###", CultureInfo.InvariantCulture)}")));
        EnvironmentTask task = Task >= 0 ? suite.Task(Task) : suite.Tasks(EnvironmentSplits.Test)[0];
        await using (IEnvironmentSession session = suite.CreateSession())
            table.Add($"task {task.Id} ({task.Split})", await session.ResetAsync(task).ConfigureAwait(false));
        table.Write();
        return 0;
    }
}
