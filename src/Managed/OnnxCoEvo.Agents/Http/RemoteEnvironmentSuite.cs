using System.Globalization;
using System.Text.Json;
using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Policies;
using OnnxCoEvo.Agents.Protocol;

namespace OnnxCoEvo.Agents.Http;

/// <summary>
/// An environment suite served by an AgentGym-compatible HTTP server (<c>webshop@http://host:port</c>), usable wherever a
/// built-in suite is. The local <em>twin</em> (the built-in suite of the same name) supplies what does not travel over
/// HTTP: <see cref="Protocol"/>, the expert and its failure modes.
/// <para>Dialect, splits and tasks come from the server's <c>/coevo/info</c> and <c>/coevo/tasks</c> when it has them
/// (<see cref="AgentGymServer"/> does; <see cref="ConnectAsync"/> asks). A real AgentGym server has neither: then they
/// are the twin's, which is right only when the server's task indices mean what the twin's do (same data and seed).
/// <see cref="TasksFromServer"/> says which happened.</para>
/// </summary>
public sealed class RemoteEnvironmentSuite : IEnvironmentSuite
{
    private readonly AgentGymTransport _transport;
    private readonly IEnvironmentSuite _twin;
    private readonly IReadOnlyDictionary<string, IReadOnlyList<EnvironmentTask>>? _tasksBySplit;
    private readonly IReadOnlyDictionary<int, EnvironmentTask>? _tasksByIndex;

    /// <summary>
    /// A suite on the server at <paramref name="baseAddress"/> that takes dialect, splits and tasks from the twin without
    /// asking the server (for AgentGym's own servers). <see cref="ConnectAsync"/> asks first. The caller owns
    /// <paramref name="http"/> and keeps it alive while sessions run.
    /// </summary>
    public RemoteEnvironmentSuite(Uri baseAddress, HttpClient http, IEnvironmentSuite twin)
        : this(new AgentGymTransport(baseAddress, http), twin ?? throw new ArgumentNullException(nameof(twin)), twin.Dialect, twin.Splits, null)
    {
    }

    private RemoteEnvironmentSuite(AgentGymTransport transport, IEnvironmentSuite twin, AgentGymDialect dialect, IReadOnlyList<string> splits,
        IReadOnlyDictionary<string, IReadOnlyList<EnvironmentTask>>? tasksBySplit)
    {
        _transport = transport;
        _twin = twin;
        Dialect = dialect;
        Splits = splits;
        _tasksBySplit = tasksBySplit;
        if (tasksBySplit is not null)
        {
            // An index listed in several splits (household's "test" and "test_unseen") belongs to the first the server names.
            var byIndex = new Dictionary<int, EnvironmentTask>();
            foreach (string split in splits)
                foreach (EnvironmentTask task in tasksBySplit[split])
                    byIndex.TryAdd(task.Index, task);
            _tasksByIndex = byIndex;
        }
    }

    /// <summary>
    /// Asks the server at <paramref name="baseAddress"/> what it serves (GET /coevo/info, then /coevo/tasks per split).
    /// A server without those routes (404: AgentGym's own) gets the twin's dialect, splits and tasks. A server that
    /// serves another environment than the twin's is an <see cref="ArgumentException"/>; an unreachable or misbehaving
    /// one a <see cref="RemoteEnvironmentException"/>.
    /// </summary>
    public static async Task<RemoteEnvironmentSuite> ConnectAsync(Uri baseAddress, HttpClient http, IEnvironmentSuite twin, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(twin);
        var transport = new AgentGymTransport(baseAddress, http);
        AgentGymDialect dialect;
        string[] splits;
        try
        {
            using AgentGymReply info = await transport.GetAsync(AgentGymWire.CoevoInfo, cancellationToken);
            string environment = info.String(AgentGymWire.InfoEnvironment);
            if (environment != twin.Name)
                throw new ArgumentException($"the server at {transport.BaseAddress} serves '{environment}', not '{twin.Name}'", nameof(twin));
            string dialectName = info.String(AgentGymWire.InfoDialect);
            if (!AgentGymWire.TryParseDialect(dialectName, out dialect))
                throw info.Malformed($"unknown dialect '{dialectName}'; known: webshop, alfworld");
            splits = [.. info.Strings(AgentGymWire.InfoSplits)];
        }
        catch (RemoteEnvironmentException e) when (e.StatusCode == 404)
        {
            return new RemoteEnvironmentSuite(transport, twin, twin.Dialect, twin.Splits, null);
        }

        var tasksBySplit = new Dictionary<string, IReadOnlyList<EnvironmentTask>>(StringComparer.Ordinal);
        foreach (string split in splits)
        {
            using AgentGymReply reply = await transport.GetAsync($"{AgentGymWire.CoevoTasks}?{AgentGymWire.Split}={Uri.EscapeDataString(split)}", cancellationToken);
            tasksBySplit[split] = ReadTasks(reply, twin.Name, split);
        }
        return new RemoteEnvironmentSuite(transport, twin, dialect, splits, tasksBySplit);
    }

    /// <summary>Splits "webshop@http://host:36001" into the environment name and the server address; false when it is not of that form.</summary>
    public static bool TryParseSpec(string spec, out string environment, out Uri? baseAddress)
    {
        environment = "";
        baseAddress = null;
        int at = spec.IndexOf('@', StringComparison.Ordinal);
        if (at <= 0 || !Uri.TryCreate(spec[(at + 1)..], UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            return false;
        environment = spec[..at];
        baseAddress = uri;
        return true;
    }

    public Uri BaseAddress => _transport.BaseAddress;

    /// <summary>True when splits and tasks came from the server's /coevo routes, false when they are the twin's.</summary>
    public bool TasksFromServer => _tasksBySplit is not null;

    public string Name => _twin.Name;

    public ReActProtocol Protocol => _twin.Protocol;

    public AgentGymDialect Dialect { get; }

    public IReadOnlyList<string> Splits { get; }

    public IReadOnlyList<EnvironmentTask> Tasks(string split)
    {
        if (_tasksBySplit is null)
            return _twin.Tasks(split);
        return _tasksBySplit.TryGetValue(split, out IReadOnlyList<EnvironmentTask>? tasks)
            ? tasks
            : throw new ArgumentException($"{Name} at {BaseAddress} has no split '{split}'; known: {string.Join(", ", Splits)}", nameof(split));
    }

    public EnvironmentTask Task(int index)
    {
        if (_tasksByIndex is null)
            return _twin.Task(index);
        return _tasksByIndex.TryGetValue(index, out EnvironmentTask? task)
            ? task
            : throw new ArgumentOutOfRangeException(nameof(index), index, string.Create(CultureInfo.InvariantCulture, $"{Name} at {BaseAddress} has no task {index}"));
    }

    /// <summary>A session on the server; it creates its server instance on the first reset. Dispose it to close that instance.</summary>
    public IEnvironmentSession CreateSession() => new RemoteEnvironmentSession(_transport, Name, Dialect);

    public IPolicy CreateExpert(ExpertOptions options) => _twin.CreateExpert(options);

    public IReadOnlyDictionary<string, double> ExpertFailureModes => _twin.ExpertFailureModes;

    private static EnvironmentTask[] ReadTasks(AgentGymReply reply, string environment, string split)
    {
        JsonElement indices = reply.Field(AgentGymWire.Indices);
        if (indices.ValueKind != JsonValueKind.Array)
            throw reply.Malformed($"'{AgentGymWire.Indices}' must be an array, is {indices.ValueKind}");
        var tasks = new EnvironmentTask[indices.GetArrayLength()];
        int i = 0;
        foreach (JsonElement index in indices.EnumerateArray())
            tasks[i++] = new EnvironmentTask(environment, reply.ToInt(index, "indices[]"), split);
        return tasks;
    }
}
