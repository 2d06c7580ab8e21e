using System.Globalization;
using System.Text.Json;
using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Http;
using OnnxCoEvo.Agents.Policies;
using OnnxCoEvo.Agents.Protocol;
using OnnxCoEvo.Tests.Agents.TestSupport;

namespace OnnxCoEvo.Tests.Agents.Http;

/// <summary>
/// The counter environment speaking the WebShop dialect, so both dialects are exercised without the real WebShop: the
/// search bar is shown until the first step, and the final step carries a WebShop-like info breakdown.
/// </summary>
public sealed class WebShopDialectCounterSuite(IEnvironmentSuite counter) : DelegatingEnvironmentSuite(counter)
{
    public WebShopDialectCounterSuite() : this(new CounterEnvironmentSuite()) { }

    public override AgentGymDialect Dialect => AgentGymDialect.WebShop;
    public override IEnvironmentSession CreateSession() => new Session(Inner.CreateSession());

    private sealed class Session(IEnvironmentSession inner) : DelegatingEnvironmentSession(inner)
    {
        private int _steps;

        public override ValueTask<string> ResetAsync(EnvironmentTask task, CancellationToken cancellationToken = default)
        {
            _steps = 0;
            return base.ResetAsync(task, cancellationToken);
        }

        public override async ValueTask<StepResult> StepAsync(string action, CancellationToken cancellationToken = default)
        {
            StepResult step = await base.StepAsync(action, cancellationToken);
            _steps++;
            if (!step.Done)
                return step;
            var info = new Dictionary<string, JsonElement>
            {
                ["r_exact"] = JsonSerializer.SerializeToElement(step.Reward == 1.0),
                ["steps"] = JsonSerializer.SerializeToElement(_steps),
                ["query"] = JsonSerializer.SerializeToElement(new[] { "counter", action }),
            };
            return step with { Info = info };
        }

        public override async ValueTask<ActionSpace> AvailableActionsAsync(CancellationToken cancellationToken = default) =>
            (await base.AvailableActionsAsync(cancellationToken)) with { HasSearchBar = _steps == 0 };
    }
}

/// <summary>A running server on loopback, an HttpClient for it and a connected remote suite; disposes all three.</summary>
public sealed class ServedSuite : IAsyncDisposable
{
    private ServedSuite(AgentGymServer server, HttpClient http, RemoteEnvironmentSuite remote)
    {
        Server = server;
        Http = http;
        Remote = remote;
    }

    public AgentGymServer Server { get; }
    public HttpClient Http { get; }
    public RemoteEnvironmentSuite Remote { get; }

    public static IEnvironmentSuite Counter(AgentGymDialect dialect) =>
        dialect == AgentGymDialect.WebShop ? new WebShopDialectCounterSuite() : new CounterEnvironmentSuite();

    public static async Task<ServedSuite> StartAsync(IEnvironmentSuite suite, AgentGymServerOptions? options = null, HttpMessageHandler? handler = null)
    {
        AgentGymServer server = await AgentGymServer.StartAsync(suite, options ?? new AgentGymServerOptions());
        var http = new HttpClient(handler ?? new SocketsHttpHandler()) { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        RemoteEnvironmentSuite remote = await RemoteEnvironmentSuite.ConnectAsync(server.BaseAddress, http, suite);
        return new ServedSuite(server, http, remote);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }
}

/// <summary>Scripted counter episodes that write down everything the environment said, to compare runs.</summary>
public static class CounterEpisodes
{
    /// <summary>
    /// Reset, a wrong action, a step down and back up, then up to the target and submit; after each answer the
    /// observation and the action space are asked for again. Returns one line per fact.
    /// </summary>
    public static async Task<List<string>> TranscriptAsync(IEnvironmentSession session, EnvironmentTask task)
    {
        var transcript = new List<string> { "reset: " + await session.ResetAsync(task) };
        await DescribeStateAsync(session, transcript);
        int target = CounterEnvironmentSuite.Target(task.Index);
        foreach (string action in (string[])["jump", "dec", "inc", .. Enumerable.Repeat("inc", target), "submit"])
        {
            StepResult step = await session.StepAsync(action);
            transcript.Add(string.Create(CultureInfo.InvariantCulture,
                $"{action} -> {step.Observation} | {step.Reward:R} | {step.Done} | {string.Join(";", step.Info.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "=" + p.Value.GetRawText()))}"));
            await DescribeStateAsync(session, transcript);
        }
        return transcript;
    }

    /// <summary>Reset, inc up to the target, submit: the cheapest complete episode. Returns the final reward.</summary>
    public static async Task<double> RunToTargetAsync(IEnvironmentSession session, EnvironmentTask task)
    {
        await session.ResetAsync(task);
        for (int i = 0; i < CounterEnvironmentSuite.Target(task.Index); i++)
            await session.StepAsync("inc");
        StepResult last = await session.StepAsync("submit");
        return last.Done ? last.Reward : -1;
    }

    private static async Task DescribeStateAsync(IEnvironmentSession session, List<string> transcript)
    {
        ActionSpace actions = await session.AvailableActionsAsync();
        transcript.Add($"  observation: {await session.ObservationAsync()}; actions: {actions.HasSearchBar} [{string.Join(",", actions.Commands)}]");
    }
}
