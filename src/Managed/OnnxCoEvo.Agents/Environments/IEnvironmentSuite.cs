using OnnxCoEvo.Agents.Policies;
using OnnxCoEvo.Agents.Protocol;

namespace OnnxCoEvo.Agents.Environments;

/// <summary>
/// An environment kind with its tasks (e.g. the WebShop catalog and its goals, or the household worlds): immutable and
/// shared by every episode, thread-safe. Sessions are the per-episode state; create one per concurrent episode.
/// Built-in suites and the remote AgentGym client (<c>webshop@http://host:port</c>) both implement it.
/// </summary>
public interface IEnvironmentSuite
{
    /// <summary>"webshop", "household".</summary>
    string Name { get; }

    /// <summary>The ReAct prompt, parsing and step rules agents use with this environment.</summary>
    ReActProtocol Protocol { get; }

    /// <summary>Which AgentGym server dialect this environment speaks over HTTP.</summary>
    AgentGymDialect Dialect { get; }

    /// <summary>Split names this suite knows, e.g. ["train", "test"].</summary>
    IReadOnlyList<string> Splits { get; }

    /// <summary>The tasks of a split in index order; deterministic for the suite's seed. Unknown split: <see cref="ArgumentException"/> listing the known ones.</summary>
    IReadOnlyList<EnvironmentTask> Tasks(string split);

    /// <summary>The task with this index, in whatever split it is; <see cref="ArgumentOutOfRangeException"/> if there is none.</summary>
    EnvironmentTask Task(int index);

    /// <summary>A new episode session (reset it before stepping). Cheap; the caller disposes it.</summary>
    IEnvironmentSession CreateSession();

    /// <summary>
    /// The scripted expert for this environment. Failure modes and their default rates are environment specific
    /// (see <see cref="ExpertFailureModes"/>); decisions are a pure function of (seed, task index).
    /// </summary>
    IPolicy CreateExpert(ExpertOptions options);

    /// <summary>Failure mode name -> default rate (probability per episode) of this environment's expert.</summary>
    IReadOnlyDictionary<string, double> ExpertFailureModes { get; }
}

/// <summary>
/// Options of a scripted expert. <see cref="FailureRates"/> overrides the environment's defaults by mode name (unknown
/// names are an <see cref="ArgumentException"/> naming the known ones); <see cref="NoFailures"/> sets every rate to 0.
/// </summary>
public sealed record ExpertOptions
{
    public ulong Seed { get; init; }
    public bool NoFailures { get; init; }
    public IReadOnlyDictionary<string, double> FailureRates { get; init; } = new Dictionary<string, double>();

    /// <summary>
    /// Environments with a search action (webshop): the expert's good search repeats the instruction's own words when
    /// they list the target on the first results page (keywords otherwise), instead of picking keywords. Copying the
    /// instruction is what a small model can learn in minutes; picking keywords that generalise takes far more data.
    /// </summary>
    public bool SearchWithInstruction { get; init; }

    /// <summary>The effective rate of each mode: defaults, then overrides, then <see cref="NoFailures"/>.</summary>
    public IReadOnlyDictionary<string, double> Resolve(string environment, IReadOnlyDictionary<string, double> defaults)
    {
        var rates = new Dictionary<string, double>(defaults, StringComparer.Ordinal);
        foreach ((string mode, double rate) in FailureRates)
        {
            if (!rates.ContainsKey(mode))
                throw new ArgumentException($"{environment} expert has no failure mode '{mode}'; known: {string.Join(", ", defaults.Keys)}");
            if (!(rate >= 0 && rate <= 1))
                throw new ArgumentException($"{environment} expert failure rate '{mode}' must be in [0, 1], is {rate}");
            rates[mode] = rate;
        }
        if (NoFailures)
            foreach (string mode in defaults.Keys)
                rates[mode] = 0;
        return rates;
    }
}

/// <summary>AgentGym env servers differ per environment; ours speaks the WebShop one for webshop and the ALFWorld one for household.</summary>
public enum AgentGymDialect
{
    /// <summary>Key <c>env_idx</c>; /create returns an int; /step returns {state, reward, done, info}; /reset takes session_id and returns [obs, null].</summary>
    WebShop,

    /// <summary>Key <c>id</c>; /create returns {id}; /step returns {observation, reward, available_actions, done}; /reset takes game.</summary>
    AlfWorld,
}
