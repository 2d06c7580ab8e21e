using System.Text.Json;

namespace OnnxCoEvo.Agents.Environments;

/// <summary>
/// One episode's environment state. Not thread-safe: one episode drives it. Async because remote sessions are HTTP
/// calls; built-in sessions complete synchronously.
/// <para>Determinism contract: after <see cref="ResetAsync"/> with the same task on a suite with the same seed, the same
/// actions give the same observations, rewards and done flags (EEF restores expert states by replaying; see
/// <see cref="EpisodeReplay"/>).</para>
/// </summary>
public interface IEnvironmentSession : IAsyncDisposable
{
    /// <summary>The task of the last reset, or null before the first.</summary>
    EnvironmentTask? Task { get; }

    /// <summary>Starts the task over and returns its first observation (the environment's own text, no "Observation:" prefix).</summary>
    ValueTask<string> ResetAsync(EnvironmentTask task, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies one action (the text after "Action: "). An action the environment does not accept is not an exception:
    /// it returns the environment's own answer (WebShop: the page unchanged; household: "Nothing happened.").
    /// Stepping after done or before reset is an <see cref="InvalidOperationException"/>.
    /// </summary>
    ValueTask<StepResult> StepAsync(string action, CancellationToken cancellationToken = default);

    /// <summary>The current observation, as the last reset or step returned it.</summary>
    ValueTask<string> ObservationAsync(CancellationToken cancellationToken = default);

    /// <summary>What can be done now (WebShop: search bar + clickables; household: admissible commands).</summary>
    ValueTask<ActionSpace> AvailableActionsAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// The result of one step. <see cref="Reward"/> is the environment's reward for this step (WebShop and household: 0 until
/// the end, then the episode reward). <see cref="Info"/> holds environment details such as WebShop's reward breakdown
/// (r_type, r_att, r_option, r_price, query_match, category_match, title_score); empty when there are none.
/// </summary>
public sealed record StepResult(string Observation, double Reward, bool Done, IReadOnlyDictionary<string, JsonElement> Info)
{
    public static readonly IReadOnlyDictionary<string, JsonElement> NoInfo = new Dictionary<string, JsonElement>();

    public StepResult(string observation, double reward, bool done) : this(observation, reward, done, NoInfo) { }
}

/// <summary>
/// Actions available in the current state: WebShop's <c>get_available_actions()</c> (has_search_bar + clickables, lower
/// case) or ALFWorld's admissible commands (in <see cref="Commands"/>, <see cref="HasSearchBar"/> false).
/// </summary>
public sealed record ActionSpace(bool HasSearchBar, IReadOnlyList<string> Commands);
