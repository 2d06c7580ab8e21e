using System.Diagnostics;
using System.Globalization;
using OnnxCoEvo.Agents.Rollouts;
using OnnxCoEvo.Training.Trainer;

namespace OnnxCoEvo.Agents.Recipes.Runs;

/// <summary>
/// Progress of long stages as log lines, at most one per interval (runs log to a terminal or a file, not a live view).
/// Reported synchronously on the caller's thread, unlike <see cref="Progress{T}"/>.
/// </summary>
public sealed class ThrottledProgress<T>(Action<T> report, TimeSpan interval) : IProgress<T>
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly TimeSpan _interval = interval;
    private TimeSpan _next = interval;

    public void Report(T value)
    {
        if (_clock.Elapsed < _next)
            return;
        _next = _clock.Elapsed + _interval;
        report(value);
    }
}

/// <summary>The log lines of a rollout or training stage in progress.</summary>
public static class RunProgress
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(15);

    public static IProgress<RolloutProgress> Rollouts(string stage, Action<string> log) =>
        new ThrottledProgress<RolloutProgress>(p => log(string.Create(CultureInfo.InvariantCulture,
            $"{stage}: {p.Finished}/{p.Total} episodes, {p.Successes} successes, {p.Elapsed.TotalSeconds:0} s")), Interval);

    public static IProgress<TrainingProgress> Training(string stage, Action<string> log) =>
        new ThrottledProgress<TrainingProgress>(p => log(string.Create(CultureInfo.InvariantCulture,
            $"{stage}: step {p.Step}/{p.TotalSteps}, loss {p.Result.Loss:0.000}, {p.TokensPerSecond:0} tokens/s, {(p.Remaining ?? TimeSpan.Zero).TotalMinutes:0.0} min left")), Interval);
}
