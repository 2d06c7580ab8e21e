using System.Net;
using System.Text;
using System.Text.Json;
using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Http;
using OnnxCoEvo.Tests.Agents.TestSupport;

namespace OnnxCoEvo.Tests.Agents.Http;

/// <summary>Raw HTTP against the server: the wire format of each dialect and a clear 4xx for every kind of bad request.</summary>
public sealed class AgentGymServerRequestTests
{
    [Fact]
    public async Task AlfWorldDialectSpeaksAgentGymsShapes()
    {
        await using ServedSuite served = await ServedSuite.StartAsync(new CounterEnvironmentSuite());
        HttpClient http = served.Http;
        Assert.Equal("ok", (await SendAsync(http, HttpMethod.Get, "/")).Json.GetString());
        int id = (await SendAsync(http, HttpMethod.Post, "/create")).Json.GetProperty("id").GetInt32();

        JsonElement reset = (await SendAsync(http, HttpMethod.Post, "/reset", $$"""{"id": {{id}}, "game": 2, "world_type": "Text"}""")).Json;
        Assert.Equal(id, reset.GetProperty("id").GetInt32());
        Assert.Equal("value 0, target 3", reset.GetProperty("observation").GetString());
        Assert.Equal(["inc", "dec", "submit"], reset.GetProperty("available_actions").EnumerateArray().Select(e => e.GetString()));

        JsonElement step = (await SendAsync(http, HttpMethod.Post, "/step", $$"""{"id": {{id}}, "action": "inc"}""")).Json;
        Assert.Equal("value 1, target 3", step.GetProperty("observation").GetString());
        Assert.Equal(0.0, step.GetProperty("reward").GetDouble());
        Assert.False(step.GetProperty("done").GetBoolean());
        Assert.Equal(3, step.GetProperty("available_actions").GetArrayLength());

        Assert.Equal("value 1, target 3", (await SendAsync(http, HttpMethod.Get, $"/observation?id={id}")).Json.GetString());
        Assert.Equal(JsonValueKind.Array, (await SendAsync(http, HttpMethod.Get, $"/available_actions?id={id}")).Json.ValueKind);
        JsonElement done = (await SendAsync(http, HttpMethod.Post, "/step", $$"""{"id": {{id}}, "action": "submit"}""")).Json;
        Assert.True(done.GetProperty("done").GetBoolean());
        Assert.Equal(1.0 / 3, done.GetProperty("reward").GetDouble(), 12);
        Assert.Equal(0, done.GetProperty("available_actions").GetArrayLength());
        Assert.True((await SendAsync(http, HttpMethod.Post, "/close", $$"""{"id": {{id}}}""")).Json.GetBoolean());
    }

    [Fact]
    public async Task WebShopDialectSpeaksAgentGymsShapes()
    {
        await using ServedSuite served = await ServedSuite.StartAsync(new WebShopDialectCounterSuite());
        HttpClient http = served.Http;
        int first = (await SendAsync(http, HttpMethod.Post, "/create")).Json.GetInt32();
        int second = (await SendAsync(http, HttpMethod.Post, "/create")).Json.GetInt32();
        Assert.Equal([first, second], (await SendAsync(http, HttpMethod.Get, "/list_envs")).Json.EnumerateArray().Select(e => e.GetInt32()));

        JsonElement reset = (await SendAsync(http, HttpMethod.Post, "/reset", $$"""{"env_idx": {{second}}, "session_id": 0}""")).Json;
        Assert.Equal(2, reset.GetArrayLength());
        Assert.Equal("value 0, target 1", reset[0].GetString());
        Assert.Equal(JsonValueKind.Null, reset[1].ValueKind);
        Assert.Equal("value 0, target 1", (await SendAsync(http, HttpMethod.Get, $"/instruction_text?env_idx={second}")).Json.GetString());

        JsonElement actions = (await SendAsync(http, HttpMethod.Get, $"/available_actions?env_idx={second}")).Json;
        Assert.True(actions.GetProperty("has_search_bar").GetBoolean());
        Assert.Equal(3, actions.GetProperty("clickables").GetArrayLength());

        JsonElement step = (await SendAsync(http, HttpMethod.Post, "/step", $$"""{"env_idx": {{second}}, "action": "inc"}""")).Json;
        Assert.Equal("value 1, target 1", step.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, step.GetProperty("info").ValueKind);
        JsonElement done = (await SendAsync(http, HttpMethod.Post, "/step", $$"""{"env_idx": {{second}}, "action": "submit"}""")).Json;
        Assert.Equal(1.0, done.GetProperty("reward").GetDouble());
        Assert.True(done.GetProperty("info").GetProperty("r_exact").GetBoolean());

        await SendAsync(http, HttpMethod.Post, "/close", $$"""{"env_idx": {{first}}}""");
        Assert.Equal([second], (await SendAsync(http, HttpMethod.Get, "/list_envs")).Json.EnumerateArray().Select(e => e.GetInt32()));
    }

    [Theory]
    [InlineData(AgentGymDialect.AlfWorld)]
    [InlineData(AgentGymDialect.WebShop)]
    public async Task CoevoRoutesListSplitsAndTasks(AgentGymDialect dialect)
    {
        await using ServedSuite served = await ServedSuite.StartAsync(ServedSuite.Counter(dialect));
        JsonElement info = (await SendAsync(served.Http, HttpMethod.Get, "/coevo/info")).Json;
        Assert.Equal("counter", info.GetProperty("environment").GetString());
        Assert.Equal(dialect == AgentGymDialect.WebShop ? "webshop" : "alfworld", info.GetProperty("dialect").GetString());
        Assert.Equal(["train", "test"], info.GetProperty("splits").EnumerateArray().Select(e => e.GetString()));

        JsonElement test = (await SendAsync(served.Http, HttpMethod.Get, "/coevo/tasks?split=test")).Json;
        Assert.Equal("test", test.GetProperty("split").GetString());
        Assert.Equal([0, 1, 2, 3, 4], test.GetProperty("indices").EnumerateArray().Select(e => e.GetInt32()));

        await ExpectErrorAsync(served.Http, HttpMethod.Get, "/coevo/tasks?split=valid_seen", null, HttpStatusCode.BadRequest, "no split 'valid_seen'; known: train, test");
        await ExpectErrorAsync(served.Http, HttpMethod.Get, "/coevo/tasks", null, HttpStatusCode.BadRequest, "'split'");
    }

    [Theory]
    [InlineData(AgentGymDialect.AlfWorld)]
    [InlineData(AgentGymDialect.WebShop)]
    public async Task BadRequestsGetA4xxNamingWhatIsWrong(AgentGymDialect dialect)
    {
        await using ServedSuite served = await ServedSuite.StartAsync(ServedSuite.Counter(dialect));
        HttpClient http = served.Http;
        string key = AgentGymWire.KeyField(dialect), taskField = AgentGymWire.TaskField(dialect);
        JsonElement created = (await SendAsync(http, HttpMethod.Post, "/create")).Json;
        int id = dialect == AgentGymDialect.WebShop ? created.GetInt32() : created.GetProperty("id").GetInt32();

        await ExpectErrorAsync(http, HttpMethod.Post, "/step", $$"""{"{{key}}": {{id}}, "action": "inc"}""", HttpStatusCode.Conflict, "POST /reset first");
        await ExpectErrorAsync(http, HttpMethod.Get, $"/observation?{key}={id}", null, HttpStatusCode.Conflict, "no task yet");
        await ExpectErrorAsync(http, HttpMethod.Post, "/step", $$"""{"{{key}}": {{id}}, "action": """, HttpStatusCode.BadRequest, "malformed JSON");
        await ExpectErrorAsync(http, HttpMethod.Post, "/step", "[1, 2]", HttpStatusCode.BadRequest, "must be a JSON object, is an array");
        await ExpectErrorAsync(http, HttpMethod.Post, "/step", "", HttpStatusCode.BadRequest, "request body is empty");
        await ExpectErrorAsync(http, HttpMethod.Post, "/step", $$"""{"{{key}}": {{id}}}""", HttpStatusCode.BadRequest, "missing field 'action'");
        await ExpectErrorAsync(http, HttpMethod.Post, "/step", """{"action": "inc"}""", HttpStatusCode.BadRequest, $"missing field '{key}'");
        await ExpectErrorAsync(http, HttpMethod.Post, "/step", $$"""{"{{key}}": "{{id}}", "action": "inc"}""", HttpStatusCode.BadRequest, $"field '{key}' must be an integer, is a string");
        await ExpectErrorAsync(http, HttpMethod.Post, "/step", $$"""{"{{key}}": 1.5, "action": "inc"}""", HttpStatusCode.BadRequest, $"field '{key}' must be an integer, is the number 1.5");
        await ExpectErrorAsync(http, HttpMethod.Post, "/step", $$"""{"{{key}}": {{id}}, "action": ["inc"]}""", HttpStatusCode.BadRequest, "field 'action' must be a string, is an array");
        await ExpectErrorAsync(http, HttpMethod.Post, "/reset", $$"""{"{{key}}": {{id}}, "{{taskField}}": null}""", HttpStatusCode.BadRequest, $"field '{taskField}' must be an integer, is null");
        await ExpectErrorAsync(http, HttpMethod.Post, "/reset", $$"""{"{{key}}": {{id}}, "{{taskField}}": 25}""", HttpStatusCode.BadRequest, $"field '{taskField}': counter has no task with index 25");
        await ExpectErrorAsync(http, HttpMethod.Post, "/step", $$"""{"{{key}}": 4242, "action": "inc"}""", HttpStatusCode.NotFound, $"no environment with {key} 4242");
        await ExpectErrorAsync(http, HttpMethod.Post, "/reset", $$"""{"{{key}}": 4242, "{{taskField}}": 0}""", HttpStatusCode.NotFound, "4242");
        await ExpectErrorAsync(http, HttpMethod.Get, $"/observation?{key}=4242", null, HttpStatusCode.NotFound, "4242");
        await ExpectErrorAsync(http, HttpMethod.Get, $"/available_actions?{key}=x", null, HttpStatusCode.BadRequest, $"query parameter '{key}' must be an integer, is 'x'");
        await ExpectErrorAsync(http, HttpMethod.Get, "/observation", null, HttpStatusCode.BadRequest, $"missing query parameter '{key}'");
        await ExpectErrorAsync(http, HttpMethod.Post, "/close", """{"id": 4242, "env_idx": 4242}""", HttpStatusCode.NotFound, "4242");
        await ExpectErrorAsync(http, HttpMethod.Get, "/step", null, HttpStatusCode.MethodNotAllowed, "/step takes POST, not GET");
        await ExpectErrorAsync(http, HttpMethod.Post, "/teleport", "{}", HttpStatusCode.NotFound, "no route /teleport");

        string oversized = $$"""{"{{key}}": {{id}}, "action": "{{new string('x', 70_000)}}"}""";
        await ExpectErrorAsync(http, HttpMethod.Post, "/step", oversized, HttpStatusCode.RequestEntityTooLarge, "65536 bytes");
        await ExpectErrorAsync(http, HttpMethod.Post, "/step", oversized, HttpStatusCode.RequestEntityTooLarge, "65536 bytes", chunked: true);

        // Step after done.
        await SendAsync(http, HttpMethod.Post, "/reset", $$"""{"{{key}}": {{id}}, "{{taskField}}": 0}""");
        await SendAsync(http, HttpMethod.Post, "/step", $$"""{"{{key}}": {{id}}, "action": "submit"}""");
        await ExpectErrorAsync(http, HttpMethod.Post, "/step", $$"""{"{{key}}": {{id}}, "action": "inc"}""", HttpStatusCode.Conflict, "has finished");

        // Closed is gone, and the server still answers after all of the above.
        await SendAsync(http, HttpMethod.Post, "/close", $$"""{"{{key}}": {{id}}}""");
        await ExpectErrorAsync(http, HttpMethod.Post, "/close", $$"""{"{{key}}": {{id}}}""", HttpStatusCode.NotFound, "closed");
        Assert.Equal("ok", (await SendAsync(http, HttpMethod.Get, "/")).Json.GetString());
    }

    [Fact]
    public async Task CreatingBeyondTheLimitIs503UntilOneIsClosed()
    {
        await using ServedSuite served = await ServedSuite.StartAsync(new CounterEnvironmentSuite(), new AgentGymServerOptions { MaxEnvironments = 2 });
        HttpClient http = served.Http;
        await SendAsync(http, HttpMethod.Post, "/create");
        await SendAsync(http, HttpMethod.Post, "/create");
        await ExpectErrorAsync(http, HttpMethod.Post, "/create", null, HttpStatusCode.ServiceUnavailable, "maximum of 2 environments");
        await SendAsync(http, HttpMethod.Post, "/close", """{"id": 0}""");
        Assert.Equal(2, (await SendAsync(http, HttpMethod.Post, "/create")).Json.GetProperty("id").GetInt32()); // ids are never reused
    }

    [Fact]
    public async Task RequestLogWritesOneLinePerRequestAndBadOptionsAreRefused()
    {
        var log = new StringWriter();
        await using (ServedSuite served = await ServedSuite.StartAsync(new CounterEnvironmentSuite(), new AgentGymServerOptions { RequestLog = log }))
            await SendAsync(served.Http, HttpMethod.Get, "/coevo/tasks?split=test");
        Assert.Contains("GET /coevo/tasks?split=test 200 ", log.ToString(), StringComparison.Ordinal);

        var suite = new CounterEnvironmentSuite();
        await Assert.ThrowsAsync<ArgumentException>(() => AgentGymServer.StartAsync(suite, new AgentGymServerOptions { Host = "envs.example" }));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => AgentGymServer.StartAsync(suite, new AgentGymServerOptions { Port = 70_000 }));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => AgentGymServer.StartAsync(suite, new AgentGymServerOptions { MaxEnvironments = 0 }));
    }

    [Fact]
    public async Task WaitForShutdownEndsWhenTheTokenIsCancelledAndTheServerStopsAnswering()
    {
        await using AgentGymServer server = await AgentGymServer.StartAsync(new CounterEnvironmentSuite(), new AgentGymServerOptions { Host = "localhost" });
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        Assert.Equal("127.0.0.1", server.BaseAddress.Host);
        Task waiting = server.WaitForShutdownAsync(CancellationToken.None);
        Assert.False(waiting.IsCompleted);

        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await server.WaitForShutdownAsync(cancel.Token);
        await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync("/"));
    }

    internal sealed record Answer(HttpStatusCode Status, JsonElement Json);

    internal static async Task<Answer> SendAsync(HttpClient http, HttpMethod method, string path, string? body = null, bool chunked = false, bool expectOk = true)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = chunked
                ? new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(body)))
                : new StringContent(body, Encoding.UTF8, "application/json");
            if (chunked)
                request.Headers.TransferEncodingChunked = true;
        }
        using HttpResponseMessage response = await http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        if (expectOk && response.StatusCode != HttpStatusCode.OK)
            throw new Xunit.Sdk.XunitException($"{method} {path}: expected 200, got {(int)response.StatusCode}: {text}");
        return new Answer(response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static async Task ExpectErrorAsync(HttpClient http, HttpMethod method, string path, string? body, HttpStatusCode status, string messagePart, bool chunked = false)
    {
        Answer answer = await SendAsync(http, method, path, body, chunked, expectOk: false);
        Assert.True(answer.Status == status, $"{method} {path}: expected {(int)status}, got {(int)answer.Status}: {answer.Json}");
        string message = answer.Json.GetProperty("error").GetString()!;
        Assert.Contains(messagePart, message, StringComparison.Ordinal);
    }
}
