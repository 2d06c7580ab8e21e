using System.Collections.ObjectModel;
using System.Text.Json;
using OnnxCoEvo.Core.Chat;

namespace OnnxCoEvo.Core.Trajectories;

/// <summary>
/// One episode of an agent in a text environment: the project's canonical trajectory, one line of
/// <c>trajectories.jsonl</c>.
/// <para>JSON shape (one object per line, UTF-8, snake_case keys, in this order; see <see cref="TrajectoryJson"/>):</para>
/// <code>
/// {"schema":1,                         // format version; missing means 1, newer than this reader is an error
///  "task_id":"webshop_6",              // the task's id as its source names it (non-empty)
///  "environment":"webshop",            // non-empty
///  "split":"train",                    // or null / missing
///  "policy":"expert:webshop",          // who produced it
///  "reward":0.75,                      // final episode reward, finite
///  "success":false,                    // stored as produced; the project rule is reward == 1.0
///  "steps":4,                          // environment steps taken (>= 0)
///  "end_reason":"done",                // see TrajectoryEndReason; other strings pass through
///  "metadata":{"source":"eto-sft"},    // free-form JSON object, preserved verbatim (optional)
///  "turns":[{"role":"user","content":"..."},
///           {"role":"assistant","content":"OK","loss":false}]}   // role system|user|assistant; loss optional
/// </code>
/// Readers ignore members they do not know (forward-compatible additions within one schema version).
/// Turns come last so that tools reading a prefix of the line (task-id scans, <c>head</c>) see the small fields first.
/// </summary>
public sealed record Trajectory
{
    public const int CurrentSchemaVersion = 1;

    /// <summary>Reward at which an episode counts as a success under the project rule.</summary>
    public const double SuccessReward = 1.0;

    /// <summary>Schema version the record was read with; writers always write <see cref="CurrentSchemaVersion"/>.</summary>
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    public required string TaskId { get; init; }

    /// <summary>Environment name, e.g. "webshop", "sciworld", "alfworld".</summary>
    public required string Environment { get; init; }

    /// <summary>Data split the task belongs to ("train", "dev", "test"), when known.</summary>
    public string? Split { get; init; }

    /// <summary>The producing policy, e.g. "expert:webshop" or "onnx:models/tiny+adapter.onnx_adapter".</summary>
    public required string Policy { get; init; }

    public required double Reward { get; init; }

    /// <summary>Stored, not derived: sources differ (ETO calls any purchase a success). Compare <see cref="MeetsSuccessRule"/>.</summary>
    public required bool Success { get; init; }

    /// <summary>Number of environment steps (actions sent to the environment, invalid ones included).</summary>
    public required int Steps { get; init; }

    /// <summary>Why the episode ended; the usual values are in <see cref="TrajectoryEndReason"/>.</summary>
    public required string EndReason { get; init; }

    public IReadOnlyDictionary<string, JsonElement> Metadata { get; init; } = ReadOnlyDictionary<string, JsonElement>.Empty;

    public required IReadOnlyList<ChatMessage> Turns { get; init; }

    /// <summary>The project's success rule: reward exactly 1.0 (EEF win rate, Co-Evolving's "failure" is r &lt; 1).</summary>
    public static bool IsSuccessReward(double reward) => reward == SuccessReward;

    public bool MeetsSuccessRule => IsSuccessReward(Reward);

    /// <summary>First reason this record cannot be written as a canonical line, or null when it can.</summary>
    public string? FindProblem()
    {
        if (string.IsNullOrEmpty(TaskId)) return "task_id must not be empty";
        if (string.IsNullOrEmpty(Environment)) return "environment must not be empty";
        if (Policy is null) return "policy must not be null";
        if (!double.IsFinite(Reward)) return $"reward must be finite, is {Reward}";
        if (Steps < 0) return $"steps must be >= 0, is {Steps}";
        if (string.IsNullOrEmpty(EndReason)) return "end_reason must not be empty";
        if (Turns is null) return "turns must not be null";
        for (int i = 0; i < Turns.Count; i++)
            if (Turns[i]?.Content is null) return $"turns[{i}] has no content";
        return Metadata is null ? "metadata must not be null" : null;
    }
}

/// <summary>Usual values of <see cref="Trajectory.EndReason"/>. The field is a string so new reasons need no schema change.</summary>
public static class TrajectoryEndReason
{
    /// <summary>The environment reported done (e.g. WebShop "buy now", SciWorld task completed or failed).</summary>
    public const string Done = "done";
    public const string MaxSteps = "max_steps";
    /// <summary>The agent's last turn had no parseable action and the recipe stops on that.</summary>
    public const string InvalidFormat = "invalid_format";
    /// <summary>The conversation no longer fits the model's context.</summary>
    public const string ContextLimit = "context_limit";
    public const string TimeLimit = "time_limit";
    public const string Error = "error";
    /// <summary>The source did not say (imported expert data).</summary>
    public const string Unknown = "unknown";
}
