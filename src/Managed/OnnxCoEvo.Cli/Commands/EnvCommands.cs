using System.Globalization;
using CommandLine;
using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Http;
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

[Verb("serve", HelpText = "Serve an environment over AgentGym's HTTP protocol (WebShop dialect for webshop, ALFWorld dialect for household).")]
public sealed class EnvServeCommand : EnvironmentOptions, ICliCommand
{
    [Option("host", Default = "127.0.0.1", HelpText = "Address to listen on (0.0.0.0 to accept other machines).")]
    public string Host { get; set; } = "";

    [Option("port", Default = 36001, HelpText = "TCP port (0: any free port).")]
    public int Port { get; set; }

    [Option("max-envs", Default = 8000, HelpText = "Environment instances open at once; /create beyond it answers 503.")]
    public int MaxEnvironments { get; set; }

    [Option("max-body", Default = 65536, HelpText = "Largest request body in bytes; larger ones get 413.")]
    public int MaxBody { get; set; }

    [Option("log", HelpText = "Log every request to the console.")]
    public bool Log { get; set; }

    public int Run() => RunAsync().GetAwaiter().GetResult();

    private async Task<int> RunAsync()
    {
        IEnvironmentSuite suite = OpenEnvironment();
        if (suite is RemoteEnvironmentSuite)
            throw new ArgumentException($"--env {Env}: serve a built-in environment, not a remote one");
        using var stop = new CtrlCStop();
        await using AgentGymServer server = await AgentGymServer.StartAsync(suite, new AgentGymServerOptions
        {
            Host = Host,
            Port = Port,
            MaxEnvironments = MaxEnvironments,
            MaxRequestBodyBytes = MaxBody,
            RequestLog = Log ? Console.Out : null,
        }, stop.Token).ConfigureAwait(false);
        AnsiConsole.MarkupLine($"serving {Markup.Escape(suite.Name)} ({suite.Dialect} dialect, " +
            $"{string.Join(", ", suite.Splits.Select(s => $"{s} {suite.Tasks(s).Count}"))} tasks) at [green]{Markup.Escape(server.BaseAddress.ToString())}[/]; Ctrl+C stops");
        AnsiConsole.MarkupLine($"clients: --env {Markup.Escape(suite.Name)}@{Markup.Escape(server.BaseAddress.ToString().TrimEnd('/'))}");
        await server.WaitForShutdownAsync(stop.Token).ConfigureAwait(false);
        AnsiConsole.MarkupLine("stopped");
        return 0;
    }
}
