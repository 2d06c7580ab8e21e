using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OnnxCoEvo.Agents.Environments;

namespace OnnxCoEvo.Agents.Http;

/// <summary>
/// Serves an <see cref="IEnvironmentSuite"/> over HTTP in the AgentGym env-server dialect the suite names (reference:
/// environments.md §3.1), so AgentGym clients and <see cref="RemoteEnvironmentSuite"/> can drive it from other hosts.
/// <list type="bullet">
/// <item>WebShop dialect (key <c>env_idx</c>): GET /, GET /list_envs, POST /create → int, POST /step → {state, reward,
/// done, info}, POST /reset {env_idx, session_id} → [obs, null], GET /available_actions, /instruction_text, /observation,
/// POST /close (AgentGym's server lacks it, its client calls it).</item>
/// <item>ALFWorld dialect (key <c>id</c>): GET /, POST /create → {id}, POST /step → {observation, reward,
/// available_actions, done}, POST /reset {id, game[, world_type ignored]} → {id, observation, available_actions},
/// GET /available_actions, /observation, POST /close.</item>
/// <item>Both: GET /coevo/info → {environment, dialect, splits}; GET /coevo/tasks?split= → {split, indices}.</item>
/// </list>
/// Bad input is a 4xx <c>{"error": "..."}</c> naming the field or id (unlike AgentGym's ALFWorld server, which answers
/// errors with 200). Requests on one instance are serialised; instances run in parallel.
/// </summary>
public sealed class AgentGymServer : IAsyncDisposable
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly IEnvironmentSuite _suite;
    private readonly AgentGymServerOptions _options;
    private readonly HostedEnvironments _environments;
    private readonly Dictionary<string, Route> _routes;
    private readonly string _key;
    private readonly TextWriter? _log;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebApplication? _app;
    private int _disposed;

    private readonly record struct Route(string Method, RequestDelegate Handler);

    private AgentGymServer(IEnvironmentSuite suite, AgentGymServerOptions options)
    {
        _suite = suite;
        _options = options;
        _environments = new HostedEnvironments(suite, options.MaxEnvironments);
        _key = AgentGymWire.KeyField(suite.Dialect);
        _log = options.RequestLog is null ? null : TextWriter.Synchronized(options.RequestLog);
        _routes = suite.Dialect == AgentGymDialect.WebShop ? WebShopRoutes() : AlfWorldRoutes();
        _routes[AgentGymWire.Root] = new(HttpMethods.Get, context => WriteJsonAsync(context, w => w.WriteStringValue("ok")));
        _routes[AgentGymWire.CoevoInfo] = new(HttpMethods.Get, InfoAsync);
        _routes[AgentGymWire.CoevoTasks] = new(HttpMethods.Get, TasksAsync);
    }

    /// <summary>The bound address, e.g. http://127.0.0.1:41517/ (the real port when <see cref="AgentGymServerOptions.Port"/> was 0).</summary>
    public Uri BaseAddress { get; private set; } = null!;

    public IEnvironmentSuite Suite => _suite;

    /// <summary>Environments currently open (created and not closed).</summary>
    public int OpenEnvironments => _environments.Count;

    /// <summary>Binds and starts serving. Bad options: <see cref="ArgumentException"/>; a port in use: the socket error.</summary>
    public static async Task<AgentGymServer> StartAsync(IEnvironmentSuite suite, AgentGymServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(suite);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        IPAddress address = ParseHost(options.Host);

        var server = new AgentGymServer(suite, options);
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "coevo-env-server" });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // Our own check answers 413 at MaxRequestBodyBytes. Kestrel's limit sits higher so that it drains the rest of
            // a moderately oversized body after that answer instead of resetting the connection under a client still
            // sending (which then sees no answer at all); beyond it Kestrel answers 413 itself and closes.
            kestrel.Limits.MaxRequestBodySize = Math.Max(1L << 20, 4L * options.MaxRequestBodyBytes);
            kestrel.Listen(address, options.Port);
        });
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(5));
        WebApplication app = builder.Build();
        app.Run(server.HandleAsync);
        app.Lifetime.ApplicationStopped.Register(() => server._stopped.TrySetResult());
        server._app = app;
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        int port = new Uri(bound).Port;
        string host = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
        server.BaseAddress = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://{host}:{port}/"));
        return server;
    }

    /// <summary>Stops accepting requests and lets those in flight finish (up to 5 s). Idempotent.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_app is not null)
            await _app.StopAsync(cancellationToken);
        _stopped.TrySetResult();
    }

    /// <summary>Completes when the server has stopped (<see cref="StopAsync"/>, or the host was told to stop); cancelling the token stops it.</summary>
    public async Task WaitForShutdownAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await _stopped.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await StopAsync(CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        await StopAsync();
        if (_app is not null)
            await _app.DisposeAsync();
        await _environments.DisposeAsync();
    }

    private static IPAddress ParseHost(string host)
    {
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
            return IPAddress.Loopback;
        return IPAddress.TryParse(host, out IPAddress? address)
            ? address
            : throw new ArgumentException($"AgentGym server host '{host}' is not an IP address or 'localhost'", nameof(host));
    }

    private Dictionary<string, Route> WebShopRoutes() => new(StringComparer.Ordinal)
    {
        [AgentGymWire.ListEnvironments] = new(HttpMethods.Get, context => WriteJsonAsync(context, w => WriteIntArray(w, _environments.Ids))),
        [AgentGymWire.Create] = new(HttpMethods.Post, context =>
        {
            int id = _environments.Create().Id;
            return WriteJsonAsync(context, w => w.WriteNumberValue(id));
        }),
        [AgentGymWire.Reset] = new(HttpMethods.Post, context => ResetAsync(context, (w, environment, observation, _) =>
        {
            w.WriteStartArray();
            w.WriteStringValue(observation);
            w.WriteNullValue();
            w.WriteEndArray();
        })),
        [AgentGymWire.Step] = new(HttpMethods.Post, context => StepAsync(context, (w, step, _) =>
        {
            w.WriteStartObject();
            w.WriteString(AgentGymWire.WebShopState, step.Observation);
            w.WriteNumber(AgentGymWire.Reward, step.Reward);
            w.WriteBoolean(AgentGymWire.Done, step.Done);
            w.WritePropertyName(AgentGymWire.WebShopInfo);
            if (step.Info.Count == 0)
                w.WriteNullValue();
            else
            {
                w.WriteStartObject();
                foreach ((string name, JsonElement value) in step.Info)
                {
                    w.WritePropertyName(name);
                    value.WriteTo(w);
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
        })),
        [AgentGymWire.AvailableActions] = new(HttpMethods.Get, context => AvailableActionsAsync(context, (w, actions) =>
        {
            w.WriteStartObject();
            w.WriteBoolean(AgentGymWire.HasSearchBar, actions.HasSearchBar);
            w.WritePropertyName(AgentGymWire.Clickables);
            WriteStringArray(w, actions.Commands);
            w.WriteEndObject();
        })),
        [AgentGymWire.Observation] = new(HttpMethods.Get, ObservationAsync),
        [AgentGymWire.InstructionText] = new(HttpMethods.Get, context => QueryEnvironmentAsync(context,
            environment => ValueTask.FromResult(environment.FirstObservation), (w, text) => w.WriteStringValue(text))),
        [AgentGymWire.Close] = new(HttpMethods.Post, CloseAsync),
    };

    private Dictionary<string, Route> AlfWorldRoutes() => new(StringComparer.Ordinal)
    {
        [AgentGymWire.Create] = new(HttpMethods.Post, context =>
        {
            int id = _environments.Create().Id;
            return WriteJsonAsync(context, w =>
            {
                w.WriteStartObject();
                w.WriteNumber(AgentGymWire.AlfWorldKey, id);
                w.WriteEndObject();
            });
        }),
        [AgentGymWire.Reset] = new(HttpMethods.Post, context => ResetAsync(context, (w, environment, observation, actions) =>
        {
            w.WriteStartObject();
            w.WriteNumber(AgentGymWire.AlfWorldKey, environment.Id);
            w.WriteString(AgentGymWire.AlfWorldObservation, observation);
            w.WritePropertyName(AgentGymWire.AlfWorldActions);
            WriteStringArray(w, actions!.Commands);
            w.WriteEndObject();
        })),
        [AgentGymWire.Step] = new(HttpMethods.Post, context => StepAsync(context, (w, step, actions) =>
        {
            w.WriteStartObject();
            w.WriteString(AgentGymWire.AlfWorldObservation, step.Observation);
            w.WriteNumber(AgentGymWire.Reward, step.Reward);
            w.WritePropertyName(AgentGymWire.AlfWorldActions);
            WriteStringArray(w, actions!.Commands);
            w.WriteBoolean(AgentGymWire.Done, step.Done);
            w.WriteEndObject();
        })),
        [AgentGymWire.AvailableActions] = new(HttpMethods.Get, context => AvailableActionsAsync(context, (w, actions) => WriteStringArray(w, actions.Commands))),
        [AgentGymWire.Observation] = new(HttpMethods.Get, ObservationAsync),
        [AgentGymWire.Close] = new(HttpMethods.Post, CloseAsync),
    };

    private async Task HandleAsync(HttpContext context)
    {
        long started = Stopwatch.GetTimestamp();
        try
        {
            string path = context.Request.Path.Value is { Length: > 0 } value ? value : AgentGymWire.Root;
            if (!_routes.TryGetValue(path, out Route route))
                throw new AgentGymRequestException(StatusCodes.Status404NotFound,
                    $"no route {path} on this {AgentGymWire.DialectName(_suite.Dialect)}-dialect server; routes: {string.Join(", ", _routes.Keys.Order(StringComparer.Ordinal))}");
            if (!HttpMethods.Equals(context.Request.Method, route.Method))
            {
                context.Response.Headers.Allow = route.Method;
                throw new AgentGymRequestException(StatusCodes.Status405MethodNotAllowed, $"{path} takes {route.Method}, not {context.Request.Method}");
            }
            await route.Handler(context);
        }
        catch (AgentGymRequestException e)
        {
            await WriteErrorAsync(context, e.StatusCode, e.Message);
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel's own limits (body size) and malformed HTTP.
            await WriteErrorAsync(context, e.StatusCode,
                e.StatusCode == StatusCodes.Status413PayloadTooLarge ? AgentGymRequest.TooLarge(_options.MaxRequestBodyBytes).Message : e.Message);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nobody is left to answer.
        }
        catch (Exception e)
        {
            await WriteErrorAsync(context, StatusCodes.Status500InternalServerError, $"{_suite.Name} server failed: {e.GetType().Name}: {e.Message}");
        }
        _log?.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{context.Request.Method} {context.Request.Path}{context.Request.QueryString} {context.Response.StatusCode} {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F1} ms"));
    }

    private async Task ResetAsync(HttpContext context, Action<Utf8JsonWriter, HostedEnvironment, string, ActionSpace?> writeReply)
    {
        string taskField = AgentGymWire.TaskField(_suite.Dialect);
        (int id, int index) = await ReadBodyAsync(context, body => (AgentGymRequest.RequireInt(body, _key), AgentGymRequest.RequireInt(body, taskField)));
        EnvironmentTask task = TaskOf(index, taskField);
        await _environments.WithAsync(id, _key, async environment =>
        {
            string observation = await CallSessionAsync(() => environment.Session.ResetAsync(task, CancellationToken.None));
            environment.Task = task;
            environment.Done = false;
            environment.FirstObservation = observation;
            // ALFWorld's reply lists the admissible commands; WebShop's does not.
            ActionSpace? actions = _suite.Dialect == AgentGymDialect.AlfWorld
                ? await CallSessionAsync(() => environment.Session.AvailableActionsAsync(CancellationToken.None))
                : null;
            await WriteJsonAsync(context, w => writeReply(w, environment, observation, actions));
            return true;
        }, context.RequestAborted);
    }

    private async Task StepAsync(HttpContext context, Action<Utf8JsonWriter, StepResult, ActionSpace?> writeReply)
    {
        (int id, string action) = await ReadBodyAsync(context, body => (AgentGymRequest.RequireInt(body, _key), AgentGymRequest.RequireString(body, AgentGymWire.Action)));
        await _environments.WithAsync(id, _key, async environment =>
        {
            RequireLiveEpisode(environment);
            StepResult step = await CallSessionAsync(() => environment.Session.StepAsync(action, CancellationToken.None));
            environment.Done = step.Done;
            ActionSpace? actions = _suite.Dialect == AgentGymDialect.AlfWorld
                ? await CallSessionAsync(() => environment.Session.AvailableActionsAsync(CancellationToken.None))
                : null;
            await WriteJsonAsync(context, w => writeReply(w, step, actions));
            return true;
        }, context.RequestAborted);
    }

    private Task AvailableActionsAsync(HttpContext context, Action<Utf8JsonWriter, ActionSpace> writeReply) =>
        QueryEnvironmentAsync(context, environment => CallSessionAsync(() => environment.Session.AvailableActionsAsync(CancellationToken.None)), writeReply);

    private Task ObservationAsync(HttpContext context) =>
        QueryEnvironmentAsync(context, environment => CallSessionAsync(() => environment.Session.ObservationAsync(CancellationToken.None)),
            (w, observation) => w.WriteStringValue(observation));

    /// <summary>A GET on one instance (?key=id) that has been reset: reads something under its gate and writes it.</summary>
    private async Task QueryEnvironmentAsync<T>(HttpContext context, Func<HostedEnvironment, ValueTask<T>> read, Action<Utf8JsonWriter, T> writeReply)
    {
        int id = AgentGymRequest.RequireIntQuery(context.Request, _key);
        T value = await _environments.WithAsync(id, _key, environment =>
        {
            if (environment.Task is null)
                throw NotReset(environment);
            return read(environment);
        }, context.RequestAborted);
        await WriteJsonAsync(context, w => writeReply(w, value));
    }

    private async Task CloseAsync(HttpContext context)
    {
        int id = await ReadBodyAsync(context, body => AgentGymRequest.RequireInt(body, _key));
        await _environments.CloseAsync(id, _key);
        await WriteJsonAsync(context, w => w.WriteBooleanValue(true));
    }

    private Task InfoAsync(HttpContext context) => WriteJsonAsync(context, w =>
    {
        w.WriteStartObject();
        w.WriteString(AgentGymWire.InfoEnvironment, _suite.Name);
        w.WriteString(AgentGymWire.InfoDialect, AgentGymWire.DialectName(_suite.Dialect));
        w.WritePropertyName(AgentGymWire.InfoSplits);
        WriteStringArray(w, _suite.Splits);
        w.WriteEndObject();
    });

    private Task TasksAsync(HttpContext context)
    {
        string split = AgentGymRequest.RequireStringQuery(context.Request, AgentGymWire.Split);
        if (!_suite.Splits.Contains(split, StringComparer.Ordinal))
            throw new AgentGymRequestException(StatusCodes.Status400BadRequest,
                $"{_suite.Name} has no split '{split}'; known: {string.Join(", ", _suite.Splits)}");
        IReadOnlyList<EnvironmentTask> tasks = _suite.Tasks(split);
        return WriteJsonAsync(context, w =>
        {
            w.WriteStartObject();
            w.WriteString(AgentGymWire.Split, split);
            w.WriteStartArray(AgentGymWire.Indices);
            foreach (EnvironmentTask task in tasks)
                w.WriteNumberValue(task.Index);
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private async Task<T> ReadBodyAsync<T>(HttpContext context, Func<JsonElement, T> read)
    {
        using JsonDocument body = await AgentGymRequest.ReadObjectAsync(context.Request, _options.MaxRequestBodyBytes, context.RequestAborted);
        return read(body.RootElement);
    }

    private EnvironmentTask TaskOf(int index, string field)
    {
        try
        {
            return _suite.Task(index);
        }
        catch (ArgumentOutOfRangeException)
        {
            throw new AgentGymRequestException(StatusCodes.Status400BadRequest,
                $"field '{field}': {_suite.Name} has no task with index {index}; GET {AgentGymWire.CoevoTasks}?split=NAME lists them");
        }
    }

    private void RequireLiveEpisode(HostedEnvironment environment)
    {
        if (environment.Task is null)
            throw NotReset(environment);
        if (environment.Done)
            throw new AgentGymRequestException(StatusCodes.Status409Conflict,
                $"the task with environment {environment.Id} ({environment.Task.Id}) has finished; POST {AgentGymWire.Reset} to start another");
    }

    private AgentGymRequestException NotReset(HostedEnvironment environment) =>
        new(StatusCodes.Status409Conflict, $"environment {_key} {environment.Id} has no task yet; POST {AgentGymWire.Reset} first");

    /// <summary>The session's own refusals become 4xx: a state it rejects is a conflict, an argument it rejects is bad input.</summary>
    private static async ValueTask<T> CallSessionAsync<T>(Func<ValueTask<T>> call)
    {
        try
        {
            return await call();
        }
        catch (InvalidOperationException e)
        {
            throw new AgentGymRequestException(StatusCodes.Status409Conflict, e.Message);
        }
        catch (ArgumentException e)
        {
            throw new AgentGymRequestException(StatusCodes.Status400BadRequest, e.Message);
        }
    }

    private static Task WriteErrorAsync(HttpContext context, int statusCode, string message)
    {
        if (context.Response.HasStarted)
            return Task.CompletedTask;
        return WriteJsonAsync(context, w =>
        {
            w.WriteStartObject();
            w.WriteString(AgentGymWire.Error, message);
            w.WriteEndObject();
        }, statusCode);
    }

    private static async Task WriteJsonAsync(HttpContext context, Action<Utf8JsonWriter> write, int statusCode = StatusCodes.Status200OK)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
            write(writer);
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }

    private static void WriteStringArray(Utf8JsonWriter writer, IEnumerable<string> values)
    {
        writer.WriteStartArray();
        foreach (string value in values)
            writer.WriteStringValue(value);
        writer.WriteEndArray();
    }

    private static void WriteIntArray(Utf8JsonWriter writer, IEnumerable<int> values)
    {
        writer.WriteStartArray();
        foreach (int value in values)
            writer.WriteNumberValue(value);
        writer.WriteEndArray();
    }
}
