using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Tests.Agents.TestSupport;
using Xunit.Abstractions;

namespace OnnxCoEvo.Tests.Agents.Http;

public sealed class AgentGymConcurrencyTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(AgentGymDialect.AlfWorld)]
    [InlineData(AgentGymDialect.WebShop)]
    public async Task InterleavedSessionsSeeWhatEachSeesAlone(AgentGymDialect dialect)
    {
        IEnvironmentSuite local = ServedSuite.Counter(dialect);
        await using ServedSuite served = await ServedSuite.StartAsync(local);
        int[] tasks = [3, 1];

        var alone = new List<string>[tasks.Length];
        for (int i = 0; i < tasks.Length; i++)
        {
            await using IEnvironmentSession session = served.Remote.CreateSession();
            alone[i] = await CounterEpisodes.TranscriptAsync(session, served.Remote.Task(tasks[i]));
        }

        // The same scripts, one step of each in turn: the remote sessions share a server and an HttpClient.
        IEnvironmentSession[] sessions = [served.Remote.CreateSession(), served.Remote.CreateSession()];
        var interleaved = new[] { new List<string>(), new List<string>() };
        string[][] scripts = tasks.Select(t => (string[])["jump", "dec", "inc", .. Enumerable.Repeat("inc", CounterEnvironmentSuite.Target(t)), "submit"]).ToArray();
        for (int i = 0; i < tasks.Length; i++)
            interleaved[i].Add("reset: " + await sessions[i].ResetAsync(served.Remote.Task(tasks[i])));
        for (int turn = 0; turn < scripts.Max(s => s.Length); turn++)
            for (int i = 0; i < tasks.Length; i++)
                if (turn < scripts[i].Length)
                    interleaved[i].Add((await sessions[i].StepAsync(scripts[i][turn])).Observation);
        foreach (IEnvironmentSession session in sessions)
            await session.DisposeAsync();

        for (int i = 0; i < tasks.Length; i++)
        {
            // Alone: reset line, state line, then per action a step line and a state line.
            Assert.Equal(alone[i][0], interleaved[i][0]);
            for (int turn = 0; turn < scripts[i].Length; turn++)
                Assert.StartsWith($"{scripts[i][turn]} -> {interleaved[i][turn + 1]} |", alone[i][2 + 2 * turn], StringComparison.Ordinal);
        }
        Assert.NotEqual(interleaved[0][^1], interleaved[1][^1]);
    }

    [Fact]
    public async Task ConcurrentStepsOnOneInstanceAreSerialised()
    {
        // Counter sessions are not thread-safe: without the server's per-instance gate, racing increments lose updates.
        await using ServedSuite served = await ServedSuite.StartAsync(new CounterEnvironmentSuite());
        HttpClient http = served.Http;
        int id = await CreateAndResetAsync(http, game: 4);

        const int Steps = 48;
        JsonElement[] answers = await Task.WhenAll(Enumerable.Range(0, Steps).Select(async _ =>
            (await AgentGymServerRequestTests.SendAsync(http, HttpMethod.Post, "/step", $$"""{"id": {{id}}, "action": "inc"}""")).Json));
        int[] values = answers.Select(a => int.Parse(a.GetProperty("observation").GetString()!.Split(',')[0]["value ".Length..], CultureInfo.InvariantCulture))
            .Order().ToArray();
        Assert.Equal(Enumerable.Range(1, Steps), values);
    }

    [Fact]
    public async Task ClosingDuringStepsAnswersEachStepOr404NeverAServerError()
    {
        await using ServedSuite served = await ServedSuite.StartAsync(new CounterEnvironmentSuite());
        HttpClient http = served.Http;
        int id = await CreateAndResetAsync(http, game: 0);

        Task<AgentGymServerRequestTests.Answer>[] steps = Enumerable.Range(0, 24).Select(i => Task.Run(() =>
            AgentGymServerRequestTests.SendAsync(http, HttpMethod.Post, "/step", $$"""{"id": {{id}}, "action": "inc"}""", expectOk: false))).ToArray();
        await AgentGymServerRequestTests.SendAsync(http, HttpMethod.Post, "/close", $$"""{"id": {{id}}}""");
        AgentGymServerRequestTests.Answer[] answers = await Task.WhenAll(steps);

        Assert.All(answers, answer => Assert.True(answer.Status is System.Net.HttpStatusCode.OK or System.Net.HttpStatusCode.NotFound, answer.ToString()));
        Assert.Equal(0, served.Server.OpenEnvironments);
    }

    [Theory]
    [InlineData(AgentGymDialect.AlfWorld, 128)]
    [InlineData(AgentGymDialect.WebShop, 96)]
    public async Task ManyConcurrentEpisodesFinishWithoutErrors(AgentGymDialect dialect, int episodes)
    {
        var counting = new CountingHandler { InnerHandler = new SocketsHttpHandler() };
        await using ServedSuite served = await ServedSuite.StartAsync(ServedSuite.Counter(dialect), handler: counting);
        IReadOnlyList<EnvironmentTask> tasks = [.. served.Remote.Tasks("test"), .. served.Remote.Tasks("train")];
        long requestsBefore = counting.Requests;
        var clock = Stopwatch.StartNew();

        // Several rounds so the rate is not all connection set-up; each round holds `episodes` episodes open at once.
        const int Rounds = 4;
        var rewards = new List<double>();
        for (int round = 0; round < Rounds; round++)
            rewards.AddRange(await Task.WhenAll(Enumerable.Range(0, episodes).Select(async episode =>
            {
                await Task.Yield(); // start them all before any finishes
                await using IEnvironmentSession session = served.Remote.CreateSession();
                EnvironmentTask task = tasks[(round * episodes + episode) % tasks.Count];
                double reward = await CounterEpisodes.RunToTargetAsync(session, task);
                // A second look at the state, as a rollout that shows available actions would.
                ActionSpace actions = await session.AvailableActionsAsync();
                return actions.Commands.Count == 0 ? reward : -1;
            })));

        clock.Stop();
        long requests = counting.Requests - requestsBefore;
        Assert.Equal(Rounds * episodes, rewards.Count);
        Assert.All(rewards, reward => Assert.Equal(1.0, reward));
        Assert.Equal(0, served.Server.OpenEnvironments);
        Assert.Equal(0, counting.Failures);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{dialect}: {Rounds} rounds of {episodes} concurrent episodes, {requests} requests in {clock.Elapsed.TotalMilliseconds:F0} ms = {requests / clock.Elapsed.TotalSeconds:F0} requests/s"));
    }

    /// <summary>A new ALFWorld-dialect instance reset to the task <paramref name="game"/>; returns its id.</summary>
    private static async Task<int> CreateAndResetAsync(HttpClient http, int game)
    {
        int id = (await AgentGymServerRequestTests.SendAsync(http, HttpMethod.Post, "/create")).Json.GetProperty("id").GetInt32();
        await AgentGymServerRequestTests.SendAsync(http, HttpMethod.Post, "/reset", $$"""{"id": {{id}}, "game": {{game}}}""");
        return id;
    }

    /// <summary>Counts requests and non-2xx answers going through the client.</summary>
    private sealed class CountingHandler : DelegatingHandler
    {
        private long _requests;
        private long _failures;

        public long Requests => Interlocked.Read(ref _requests);
        public long Failures => Interlocked.Read(ref _failures);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _requests);
            HttpResponseMessage response = await base.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
                Interlocked.Increment(ref _failures);
            return response;
        }
    }
}
