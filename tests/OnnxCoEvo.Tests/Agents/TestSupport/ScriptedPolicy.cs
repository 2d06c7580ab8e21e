using OnnxCoEvo.Agents.Policies;

namespace OnnxCoEvo.Tests.Agents.TestSupport;

/// <summary>A policy whose turns come from a function of the request; records every batch it was asked for.</summary>
public sealed class ScriptedPolicy(Func<PolicyRequest, string> turn, string name = "scripted") : IPolicy
{
    private readonly List<IReadOnlyList<PolicyRequest>> _batches = [];
    private readonly HashSet<long> _ended = [];

    public string Name => name;

    /// <summary>Called before each batch is answered (to cancel, delay or fail at a chosen call).</summary>
    public Func<int, Task>? BeforeCall { get; init; }

    public IReadOnlyList<IReadOnlyList<PolicyRequest>> Batches => _batches;

    public IReadOnlyCollection<long> EndedEpisodes => _ended;

    public async ValueTask<IReadOnlyList<PolicyTurn>> ActAsync(IReadOnlyList<PolicyRequest> batch, CancellationToken cancellationToken = default)
    {
        if (BeforeCall is not null)
            await BeforeCall(_batches.Count);
        _batches.Add(batch.ToArray());
        return batch.Select(r => new PolicyTurn(turn(r), PromptTokens: 10, GeneratedTokens: 3)).ToArray();
    }

    public void EndEpisode(long episodeId) => _ended.Add(episodeId);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
