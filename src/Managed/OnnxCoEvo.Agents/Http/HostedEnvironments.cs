using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using OnnxCoEvo.Agents.Environments;

namespace OnnxCoEvo.Agents.Http;

/// <summary>
/// One environment instance the server holds: its session and the episode facts the server checks before passing a
/// request on (reset yet? done?). <see cref="Gate"/> serialises every request on this instance; instances never share it.
/// </summary>
internal sealed class HostedEnvironment(int id, IEnvironmentSession session)
{
    public int Id { get; } = id;
    public IEnvironmentSession Session { get; } = session;
    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>Set under <see cref="Gate"/> once /close has taken it out of the registry.</summary>
    public bool Closed { get; set; }

    public EnvironmentTask? Task { get; set; }
    public bool Done { get; set; }

    /// <summary>The observation of the last reset: what WebShop's /instruction_text answers (the page carries the instruction).</summary>
    public string FirstObservation { get; set; } = "";
}

/// <summary>
/// The live instances by id. Ids count up from 0 and are never reused, so a stale id is always a 404 rather than
/// someone else's episode. At most <c>capacity</c> instances are open at once: /create beyond it is refused (503) until
/// a client closes one, instead of recycling an instance some client may still reset again (AgentGym clients reuse one
/// instance for many tasks).
/// </summary>
internal sealed class HostedEnvironments(IEnvironmentSuite suite, int capacity) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<int, HostedEnvironment> _byId = new();
    private int _lastId = -1;
    private int _open;

    public int Count => Volatile.Read(ref _open);

    public IReadOnlyList<int> Ids
    {
        get
        {
            int[] ids = _byId.Keys.ToArray();
            Array.Sort(ids);
            return ids;
        }
    }

    public HostedEnvironment Create()
    {
        if (Interlocked.Increment(ref _open) > capacity)
        {
            Interlocked.Decrement(ref _open);
            throw new AgentGymRequestException(StatusCodes.Status503ServiceUnavailable,
                $"the server holds its maximum of {capacity} environments; close one (POST {AgentGymWire.Close}) before creating another");
        }
        try
        {
            var environment = new HostedEnvironment(Interlocked.Increment(ref _lastId), suite.CreateSession());
            _byId[environment.Id] = environment;
            return environment;
        }
        catch
        {
            Interlocked.Decrement(ref _open);
            throw;
        }
    }

    /// <summary>Runs <paramref name="action"/> with the instance's gate held; 404 naming the id when there is no such instance.</summary>
    public async Task<T> WithAsync<T>(int id, string keyField, Func<HostedEnvironment, ValueTask<T>> action, CancellationToken cancellationToken)
    {
        HostedEnvironment environment = _byId.TryGetValue(id, out HostedEnvironment? found) ? found : throw Unknown(id, keyField);
        await environment.Gate.WaitAsync(cancellationToken);
        try
        {
            // Closed while this request waited for the gate.
            return environment.Closed ? throw Unknown(id, keyField) : await action(environment);
        }
        finally
        {
            environment.Gate.Release();
        }
    }

    public async Task CloseAsync(int id, string keyField)
    {
        if (!_byId.TryRemove(id, out HostedEnvironment? environment))
            throw Unknown(id, keyField);
        Interlocked.Decrement(ref _open);
        await CloseAsync(environment);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (int id in _byId.Keys)
            if (_byId.TryRemove(id, out HostedEnvironment? environment))
                await CloseAsync(environment);
    }

    private static async Task CloseAsync(HostedEnvironment environment)
    {
        // Wait for a request in flight on this instance so the session is not disposed under it.
        await environment.Gate.WaitAsync();
        try
        {
            environment.Closed = true;
            await environment.Session.DisposeAsync();
        }
        finally
        {
            environment.Gate.Release();
        }
    }

    private static AgentGymRequestException Unknown(int id, string keyField) =>
        new(StatusCodes.Status404NotFound, $"no environment with {keyField} {id} (never created, or closed)");
}
