using System.Net;
using System.Text;
using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Http;
using OnnxCoEvo.Tests.Agents.TestSupport;

namespace OnnxCoEvo.Tests.Agents.Http;

public sealed class RemoteEnvironmentTests
{
    [Theory]
    [InlineData(AgentGymDialect.AlfWorld)]
    [InlineData(AgentGymDialect.WebShop)]
    public async Task RemoteEpisodesSayExactlyWhatTheLocalSuiteSays(AgentGymDialect dialect)
    {
        IEnvironmentSuite local = ServedSuite.Counter(dialect);
        await using ServedSuite served = await ServedSuite.StartAsync(local);
        Assert.True(served.Remote.TasksFromServer);
        Assert.Equal(dialect, served.Remote.Dialect);
        Assert.Equal(served.Server.BaseAddress, served.Remote.BaseAddress);
        Assert.NotEqual(0, served.Server.BaseAddress.Port);

        // Two tasks on one remote session: a reset after done starts a fresh episode on the same server instance.
        await using IEnvironmentSession remote = served.Remote.CreateSession();
        foreach (int index in (int[])[3, 1])
        {
            await using IEnvironmentSession alone = local.CreateSession();
            List<string> expected = await CounterEpisodes.TranscriptAsync(alone, local.Task(index));
            List<string> actual = await CounterEpisodes.TranscriptAsync(remote, served.Remote.Task(index));
            Assert.Equal(expected, actual);
            Assert.Contains("submit -> submitted", actual[^2], StringComparison.Ordinal);
            Assert.Contains("| 1 | True", actual[^2], StringComparison.Ordinal);
        }
        Assert.Equal(1, served.Server.OpenEnvironments);
        await remote.DisposeAsync();
        Assert.Equal(0, served.Server.OpenEnvironments);
    }

    [Fact]
    public async Task WebShopStepCarriesTheInfoObjectAndTheSearchBarFlag()
    {
        await using ServedSuite served = await ServedSuite.StartAsync(new WebShopDialectCounterSuite());
        await using IEnvironmentSession session = served.Remote.CreateSession();
        await session.ResetAsync(served.Remote.Task(0));
        Assert.True((await session.AvailableActionsAsync()).HasSearchBar);
        StepResult up = await session.StepAsync("inc");
        Assert.Empty(up.Info);
        Assert.False((await session.AvailableActionsAsync()).HasSearchBar);
        StepResult end = await session.StepAsync("submit");
        Assert.True(end.Done);
        Assert.Equal(1.0, end.Reward);
        Assert.True(end.Info["r_exact"].GetBoolean());
        Assert.Equal(2, end.Info["steps"].GetInt32());
        Assert.Equal("submit", end.Info["query"][1].GetString());
    }

    [Fact]
    public async Task TasksAndSplitsComeFromTheServer()
    {
        // The server's suite has other task counts than the twin: the remote suite must report the server's.
        var served = new CounterEnvironmentSuite(trainTasks: 7, testTasks: 3);
        var twin = new CounterEnvironmentSuite();
        await using AgentGymServer server = await AgentGymServer.StartAsync(served, new AgentGymServerOptions());
        using var http = new HttpClient();
        RemoteEnvironmentSuite remote = await RemoteEnvironmentSuite.ConnectAsync(server.BaseAddress, http, twin);

        Assert.Equal(served.Splits, remote.Splits);
        foreach (string split in served.Splits)
            Assert.Equal(served.Tasks(split), remote.Tasks(split));
        Assert.Equal(served.Task(9), remote.Task(9));
        Assert.Throws<ArgumentOutOfRangeException>(() => remote.Task(10));
        ArgumentException unknown = Assert.Throws<ArgumentException>(() => remote.Tasks("dev"));
        Assert.Contains("train, test", unknown.Message, StringComparison.Ordinal);
        Assert.Same(twin.Protocol, remote.Protocol);
        Assert.Equal(twin.ExpertFailureModes, remote.ExpertFailureModes);
    }

    [Fact]
    public async Task ConnectingWithTheTwinOfAnotherEnvironmentIsRefused()
    {
        await using AgentGymServer server = await AgentGymServer.StartAsync(new CounterEnvironmentSuite(), new AgentGymServerOptions());
        using var http = new HttpClient();
        var stranger = new RenamedSuite(new CounterEnvironmentSuite(), "household");
        ArgumentException error = await Assert.ThrowsAsync<ArgumentException>(() => RemoteEnvironmentSuite.ConnectAsync(server.BaseAddress, http, stranger));
        Assert.Contains("'counter', not 'household'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AServerWithoutCoevoRoutesOrCloseFallsBackToTheTwin()
    {
        // AgentGym's own servers: no /coevo/* and no /close (FastAPI answers 404 {"detail": "Not Found"}).
        var suite = new CounterEnvironmentSuite();
        await using AgentGymServer server = await AgentGymServer.StartAsync(suite, new AgentGymServerOptions());
        var agentGymLike = new StubHandler(request =>
            request.RequestUri!.AbsolutePath.StartsWith("/coevo/", StringComparison.Ordinal) || request.RequestUri.AbsolutePath == "/close"
                ? Json(HttpStatusCode.NotFound, """{"detail":"Not Found"}""")
                : null)
        { InnerHandler = new SocketsHttpHandler() };
        using var http = new HttpClient(agentGymLike);
        RemoteEnvironmentSuite remote = await RemoteEnvironmentSuite.ConnectAsync(server.BaseAddress, http, suite);

        Assert.False(remote.TasksFromServer);
        Assert.Equal(suite.Tasks("test"), remote.Tasks("test"));
        IEnvironmentSession session = remote.CreateSession();
        Assert.Equal(1.0, await CounterEpisodes.RunToTargetAsync(session, remote.Task(2)));
        await session.DisposeAsync(); // the 404 from /close is tolerated
        Assert.Equal(1, server.OpenEnvironments);
    }

    [Fact]
    public async Task ServerRefusalsBecomeRemoteEnvironmentExceptionsWithStatusPathAndMessage()
    {
        await using ServedSuite served = await ServedSuite.StartAsync(new CounterEnvironmentSuite());
        await using IEnvironmentSession session = served.Remote.CreateSession();

        RemoteEnvironmentException refused = await Assert.ThrowsAsync<RemoteEnvironmentException>(
            async () => await session.ResetAsync(new EnvironmentTask("counter", 999, "test")));
        Assert.Equal(400, refused.StatusCode);
        Assert.Equal("POST", refused.Method);
        Assert.Equal("/reset", refused.Path);
        Assert.Contains("'game'", refused.Problem, StringComparison.Ordinal);
        Assert.Contains("999", refused.Message, StringComparison.Ordinal);

        // Local checks keep the session contract: step before reset / after done is InvalidOperationException.
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await session.StepAsync("inc"));
        await CounterEpisodes.RunToTargetAsync(session, served.Remote.Task(0));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await session.StepAsync("inc"));
    }

    [Fact]
    public async Task AgentGymStyleErrorsWithStatus200AndNonJsonAnswersAreRefused()
    {
        var suite = new CounterEnvironmentSuite();
        using var http = new HttpClient(new StubHandler(request => request.RequestUri!.AbsolutePath switch
        {
            "/create" => Json(HttpStatusCode.OK, """{"id": 7}"""),
            "/reset" => Json(HttpStatusCode.OK, """{"error": "The id 7 is not valid."}"""),
            "/close" => Json(HttpStatusCode.NotFound, """{"detail": "Not Found"}"""),
            _ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("<html>proxy</html>") },
        }));
        var remote = new RemoteEnvironmentSuite(new Uri("http://agentgym.invalid:36001"), http, suite);
        await using IEnvironmentSession session = remote.CreateSession();

        RemoteEnvironmentException error = await Assert.ThrowsAsync<RemoteEnvironmentException>(async () => await session.ResetAsync(suite.Task(0)));
        Assert.Equal(200, error.StatusCode);
        Assert.Equal("The id 7 is not valid.", error.Problem);

        RemoteEnvironmentException notJson = await Assert.ThrowsAsync<RemoteEnvironmentException>(
            () => RemoteEnvironmentSuite.ConnectAsync(new Uri("http://agentgym.invalid:36001"), http, suite));
        Assert.Contains("not JSON", notJson.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnreachableServerIsARemoteEnvironmentExceptionWithoutStatus()
    {
        AgentGymServer server = await AgentGymServer.StartAsync(new CounterEnvironmentSuite(), new AgentGymServerOptions());
        Uri address = server.BaseAddress;
        await server.DisposeAsync();
        using var http = new HttpClient();
        RemoteEnvironmentException error = await Assert.ThrowsAsync<RemoteEnvironmentException>(
            () => RemoteEnvironmentSuite.ConnectAsync(address, http, new CounterEnvironmentSuite()));
        Assert.Null(error.StatusCode);
        Assert.Equal("/coevo/info", error.Path);
    }

    [Theory]
    [InlineData("webshop@http://10.0.0.5:36001", true, "webshop", "http://10.0.0.5:36001/")]
    [InlineData("household@https://envs.example/alfworld/", true, "household", "https://envs.example/alfworld/")]
    [InlineData("webshop", false, "", "")]
    [InlineData("@http://host:1", false, "", "")]
    [InlineData("webshop@ftp://host/", false, "", "")]
    [InlineData("webshop@not a uri", false, "", "")]
    public void EnvironmentSpecsNameTheEnvironmentAndTheServer(string spec, bool valid, string environment, string address)
    {
        Assert.Equal(valid, RemoteEnvironmentSuite.TryParseSpec(spec, out string name, out Uri? uri));
        Assert.Equal(environment, name);
        Assert.Equal(valid ? address : null, uri?.AbsoluteUri);
    }

    internal static HttpResponseMessage Json(HttpStatusCode status, string json) =>
        new(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    /// <summary>Answers requests it has an answer for (non-null) and passes the rest to its inner handler.</summary>
    private sealed class StubHandler(Func<HttpRequestMessage, HttpResponseMessage?> answer) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            answer(request) is { } response ? Task.FromResult(response) : base.SendAsync(request, cancellationToken);
    }

    private sealed class RenamedSuite(IEnvironmentSuite inner, string name) : DelegatingEnvironmentSuite(inner)
    {
        public override string Name => name;
    }
}
