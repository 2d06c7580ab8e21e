using System.Globalization;
using System.Text.Json;
using OnnxCoEvo.Agents.Environments;

namespace OnnxCoEvo.Agents.Http;

/// <summary>
/// One episode on a remote AgentGym env server. The server instance is created (POST /create) on the first reset and
/// closed (POST /close) on dispose; a server without /close (AgentGym's WebShop and ALFWorld servers) is tolerated.
/// ALFWorld-dialect reset and step answers carry the admissible commands, so <see cref="AvailableActionsAsync"/> after
/// them costs no request; WebShop-dialect ones are fetched once per state.
/// </summary>
public sealed class RemoteEnvironmentSession : IEnvironmentSession
{
    private readonly AgentGymTransport _transport;
    private readonly string _environment;
    private readonly AgentGymDialect _dialect;
    private readonly string _key;
    private int? _remoteId;
    private bool _done;
    private ActionSpace? _actions;

    internal RemoteEnvironmentSession(AgentGymTransport transport, string environment, AgentGymDialect dialect)
    {
        _transport = transport;
        _environment = environment;
        _dialect = dialect;
        _key = AgentGymWire.KeyField(dialect);
    }

    public EnvironmentTask? Task { get; private set; }

    /// <summary>The server's id of this session's instance (env_idx / id); null until the first reset.</summary>
    public int? RemoteId => _remoteId;

    public async ValueTask<string> ResetAsync(EnvironmentTask task, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(task);
        int id = _remoteId ??= await CreateAsync(cancellationToken);
        _actions = null;
        Task = null;
        using AgentGymReply reply = await _transport.PostAsync(AgentGymWire.Reset, w =>
        {
            w.WriteStartObject();
            w.WriteNumber(_key, id);
            w.WriteNumber(AgentGymWire.TaskField(_dialect), task.Index);
            if (_dialect == AgentGymDialect.AlfWorld)
                w.WriteString("world_type", "Text"); // AgentGym's ALFWorld server requires it; ours ignores it.
            w.WriteEndObject();
        }, cancellationToken);

        string observation;
        if (_dialect == AgentGymDialect.WebShop)
        {
            // [observation, null]
            if (reply.Root.ValueKind != JsonValueKind.Array || reply.Root.GetArrayLength() < 1)
                throw reply.Malformed($"answer must be [observation, null], is {reply.Root.ValueKind}");
            observation = reply.ToString(reply.Root[0], "[0]");
        }
        else
        {
            observation = reply.String(AgentGymWire.AlfWorldObservation);
            _actions = new ActionSpace(false, reply.Strings(AgentGymWire.AlfWorldActions));
        }
        Task = task;
        _done = false;
        return observation;
    }

    public async ValueTask<StepResult> StepAsync(string action, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(action);
        int id = RequireInstance("step");
        if (_done)
            throw new InvalidOperationException($"{_environment}: task {Task!.Id} has finished; reset before stepping again");
        _actions = null;
        using AgentGymReply reply = await _transport.PostAsync(AgentGymWire.Step, w =>
        {
            w.WriteStartObject();
            w.WriteNumber(_key, id);
            w.WriteString(AgentGymWire.Action, action);
            w.WriteEndObject();
        }, cancellationToken);

        StepResult result;
        if (_dialect == AgentGymDialect.WebShop)
        {
            result = new StepResult(reply.String(AgentGymWire.WebShopState), reply.Double(AgentGymWire.Reward), reply.Bool(AgentGymWire.Done),
                ReadInfo(reply));
        }
        else
        {
            result = new StepResult(reply.String(AgentGymWire.AlfWorldObservation), reply.Double(AgentGymWire.Reward), reply.Bool(AgentGymWire.Done));
            _actions = new ActionSpace(false, reply.Strings(AgentGymWire.AlfWorldActions));
        }
        _done = result.Done;
        return result;
    }

    public async ValueTask<string> ObservationAsync(CancellationToken cancellationToken = default)
    {
        int id = RequireInstance("observation");
        using AgentGymReply reply = await _transport.GetAsync(Query(AgentGymWire.Observation, id), cancellationToken);
        return reply.ToString(reply.Root, "observation");
    }

    public async ValueTask<ActionSpace> AvailableActionsAsync(CancellationToken cancellationToken = default)
    {
        int id = RequireInstance("available actions");
        if (_actions is not null)
            return _actions;
        using AgentGymReply reply = await _transport.GetAsync(Query(AgentGymWire.AvailableActions, id), cancellationToken);
        _actions = _dialect == AgentGymDialect.WebShop
            ? new ActionSpace(reply.Bool(AgentGymWire.HasSearchBar), reply.Strings(AgentGymWire.Clickables))
            : new ActionSpace(false, reply.ToStrings(reply.Root, "available_actions"));
        return _actions;
    }

    public async ValueTask DisposeAsync()
    {
        if (_remoteId is not int id)
            return;
        _remoteId = null;
        Task = null;
        try
        {
            using AgentGymReply reply = await _transport.PostAsync(AgentGymWire.Close, w =>
            {
                w.WriteStartObject();
                w.WriteNumber(_key, id);
                w.WriteEndObject();
            }, CancellationToken.None);
        }
        catch (RemoteEnvironmentException e) when (e.StatusCode is 404 or 405)
        {
            // No /close route (AgentGym's servers), or the instance is already gone: nothing left to free.
        }
    }

    private async Task<int> CreateAsync(CancellationToken cancellationToken)
    {
        using AgentGymReply reply = await _transport.PostAsync(AgentGymWire.Create, null, cancellationToken);
        return _dialect == AgentGymDialect.WebShop ? reply.ToInt(reply.Root, "env_idx") : reply.Int(AgentGymWire.AlfWorldKey);
    }

    private int RequireInstance(string what) =>
        _remoteId is int id && Task is not null ? id : throw new InvalidOperationException($"{_environment}: {what} before reset");

    private string Query(string path, int id) => string.Create(CultureInfo.InvariantCulture, $"{path}?{_key}={id}");

    /// <summary>WebShop's info: null, or an object (our servers put the reward breakdown there).</summary>
    private static IReadOnlyDictionary<string, JsonElement> ReadInfo(AgentGymReply reply)
    {
        if (!reply.Root.TryGetProperty(AgentGymWire.WebShopInfo, out JsonElement info) || info.ValueKind == JsonValueKind.Null)
            return StepResult.NoInfo;
        if (info.ValueKind != JsonValueKind.Object)
            throw reply.Malformed($"'{AgentGymWire.WebShopInfo}' must be an object or null, is {info.ValueKind}");
        var values = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (JsonProperty property in info.EnumerateObject())
            values[property.Name] = property.Value.Clone(); // outlives the reply's document
        return values;
    }
}
