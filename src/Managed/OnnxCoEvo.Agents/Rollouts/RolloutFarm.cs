using System.Diagnostics;
using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Policies;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Agents.Rollouts;

/// <summary>Knobs of a farm run.</summary>
public sealed record RolloutOptions
{
    /// <summary>Episodes in flight at once; each turn the policy gets one batched call with all of them.</summary>
    public int Concurrency { get; init; } = 64;

    /// <summary>Overrides the protocol's max steps per episode.</summary>
    public int? MaxSteps { get; init; }

    /// <summary>Wall-time limit per episode; a slower episode ends with end_reason "time_limit" (reward 0 where timeouts zero it).</summary>
    public TimeSpan? EpisodeTimeLimit { get; init; }

    /// <summary>Environment steps applied in parallel per turn (remote environments are I/O-bound; built-in ones are cheap).</summary>
    public int EnvironmentParallelism { get; init; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Episodes that may fail with an exception (their environment broke) before the run stops; failed episodes are not written, so a rerun retries them.</summary>
    public int MaxEpisodeErrors { get; init; } = 10;
}

/// <summary>Counters reported after every farm turn.</summary>
public sealed record RolloutProgress(int Finished, int Total, int Live, long Steps, int Successes, double RewardSum, long GeneratedTokens, int Errors, TimeSpan Elapsed)
{
    public double MeanReward => Finished == 0 ? 0 : RewardSum / Finished;
}

/// <summary>What a farm run did, with its rates.</summary>
public sealed record RolloutSummary(
    int Episodes,
    long Steps,
    int Successes,
    double RewardSum,
    long PromptTokens,
    long GeneratedTokens,
    int PolicyCalls,
    int Errors,
    string? FirstError,
    TimeSpan Elapsed,
    TimeSpan PolicyTime,
    TimeSpan EnvironmentTime)
{
    public double MeanReward => Episodes == 0 ? 0 : RewardSum / Episodes;
    public double SuccessRate => Episodes == 0 ? 0 : (double)Successes / Episodes;
    public double EpisodesPerSecond => Rate(Episodes);
    public double StepsPerSecond => Rate(Steps);

    /// <summary>Generated tokens per second of wall time; 0 for scripted policies, which generate none.</summary>
    public double GeneratedTokensPerSecond => Rate(GeneratedTokens);

    private double Rate(double count) => Elapsed.TotalSeconds > 0 ? count / Elapsed.TotalSeconds : 0;
}

/// <summary>
/// Runs many episodes at once against one policy: a continuous-batching loop that keeps up to
/// <see cref="RolloutOptions.Concurrency"/> episodes live, asks the policy for every live episode's next turn in one
/// call, applies the turns to the environments in parallel, writes the episodes that ended (one fsync per turn), and
/// starts new ones in their place. A crash loses only episodes in flight; resuming skips written ones
/// (<see cref="RolloutPlan"/>).
/// </summary>
public sealed class RolloutFarm(IEnvironmentSuite suite, IPolicy policy, RolloutOptions? options = null)
{
    private readonly RolloutOptions _options = Validate(options ?? new RolloutOptions());
    private long _nextEpisodeId;

    public async Task<RolloutSummary> RunAsync(IReadOnlyList<RolloutWorkItem> work, IRolloutSink sink,
        IProgress<RolloutProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        ArgumentNullException.ThrowIfNull(sink);
        var clock = Stopwatch.StartNew();
        var live = new List<Episode>(_options.Concurrency);
        var errors = new List<string>();
        int next = 0, finished = 0, successes = 0, policyCalls = 0;
        long steps = 0, promptTokens = 0, generatedTokens = 0;
        double rewardSum = 0;
        TimeSpan policyTime = TimeSpan.Zero, environmentTime = TimeSpan.Zero;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = _options.EnvironmentParallelism, CancellationToken = cancellationToken };

        void Fail(RolloutWorkItem item, Exception ex)
        {
            errors.Add($"{item.Task.Id} (sample {item.Sample}): {ex.Message}");
            if (errors.Count > _options.MaxEpisodeErrors)
                throw new InvalidOperationException(
                    $"rollout stopped: {errors.Count} episodes failed (limit {_options.MaxEpisodeErrors}); first: {errors[0]}", ex);
        }

        try
        {
            while (next < work.Count || live.Count > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();

                // Fill free slots; resets run in parallel (remote resets are round trips).
                if (live.Count < _options.Concurrency && next < work.Count)
                {
                    int take = Math.Min(_options.Concurrency - live.Count, work.Count - next);
                    RolloutWorkItem[] starting = work.Skip(next).Take(take).ToArray();
                    next += take;
                    var started = new Episode?[starting.Length];
                    var envClock = Stopwatch.StartNew();
                    await Parallel.ForEachAsync(Enumerable.Range(0, starting.Length), parallel, async (i, ct) =>
                    {
                        IEnvironmentSession session = suite.CreateSession();
                        try
                        {
                            started[i] = await StartAsync(starting[i], session, ct).ConfigureAwait(false);
                        }
                        catch (Exception ex) when (ex is not OperationCanceledException)
                        {
                            await session.DisposeAsync().ConfigureAwait(false);
                            lock (errors) Fail(starting[i], ex);
                        }
                    }).ConfigureAwait(false);
                    environmentTime += envClock.Elapsed;
                    live.AddRange(started.OfType<Episode>());
                    if (live.Count == 0)
                        continue;
                }

                // One batched policy call for every live episode.
                PolicyRequest[] requests;
                if (policy.NeedsActionSpace)
                {
                    requests = new PolicyRequest[live.Count];
                    await Parallel.ForEachAsync(Enumerable.Range(0, live.Count), parallel, async (i, ct) =>
                    {
                        try
                        {
                            requests[i] = await live[i].ToRequestWithActionsAsync(ct).ConfigureAwait(false);
                        }
                        catch (Exception ex) when (ex is not OperationCanceledException)
                        {
                            // No action space this turn (a remote hiccup): the policy generates unconstrained; a broken
                            // session shows up at the step, which is where episode errors are counted.
                            requests[i] = live[i].ToRequest();
                        }
                    }).ConfigureAwait(false);
                }
                else
                    requests = live.Select(e => e.ToRequest()).ToArray();
                var policyClock = Stopwatch.StartNew();
                IReadOnlyList<PolicyTurn> turns = await policy.ActAsync(requests, cancellationToken).ConfigureAwait(false);
                policyTime += policyClock.Elapsed;
                policyCalls++;
                if (turns.Count != requests.Length)
                    throw new InvalidOperationException($"policy {policy.Name} answered {turns.Count} turns for {requests.Length} requests");
                foreach (PolicyTurn turn in turns)
                {
                    promptTokens += turn.PromptTokens;
                    generatedTokens += turn.GeneratedTokens;
                }

                var broken = new bool[live.Count];
                int applied = 0;
                var stepClock = Stopwatch.StartNew();
                await Parallel.ForEachAsync(Enumerable.Range(0, live.Count), parallel, async (i, ct) =>
                {
                    Episode episode = live[i];
                    try
                    {
                        if (turns[i].EndEpisode is { } endReason)
                        {
                            episode.Stop(endReason);
                            return;
                        }
                        await episode.ApplyAsync(turns[i], ct).ConfigureAwait(false);
                        Interlocked.Increment(ref applied);
                        if (!episode.IsFinished && _options.EpisodeTimeLimit is { } limit && episode.Elapsed > limit)
                            episode.Stop(TrajectoryEndReason.TimeLimit);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        broken[i] = true;
                        lock (errors) Fail(new RolloutWorkItem(episode.Task, episode.Sample), ex);
                    }
                }).ConfigureAwait(false);
                environmentTime += stepClock.Elapsed;
                steps += applied;

                // Write the episodes that ended on this turn, then free their slots.
                var done = new List<Trajectory>();
                for (int i = live.Count - 1; i >= 0; i--)
                {
                    Episode episode = live[i];
                    if (!broken[i] && !episode.IsFinished)
                        continue;
                    if (!broken[i])
                    {
                        Trajectory trajectory = episode.ToTrajectory(policy.Name);
                        done.Add(trajectory);
                        finished++;
                        rewardSum += trajectory.Reward;
                        if (trajectory.MeetsSuccessRule) successes++;
                    }
                    policy.EndEpisode(episode.Id);
                    live.RemoveAt(i);
                    await episode.DisposeAsync().ConfigureAwait(false);
                }
                if (done.Count > 0)
                {
                    done.Reverse(); // keep start order within a turn
                    sink.Write(done);
                }
                progress?.Report(new RolloutProgress(finished, work.Count, live.Count, steps, successes, rewardSum, generatedTokens, errors.Count, clock.Elapsed));
            }
        }
        finally
        {
            // Episodes still in flight (cancellation or a fatal error) are dropped: they were never written, so a rerun redoes them.
            foreach (Episode episode in live)
            {
                policy.EndEpisode(episode.Id);
                await episode.DisposeAsync().ConfigureAwait(false);
            }
        }

        return new RolloutSummary(finished, steps, successes, rewardSum, promptTokens, generatedTokens, policyCalls, errors.Count,
            errors.FirstOrDefault(), clock.Elapsed, policyTime, environmentTime);
    }

    private ValueTask<Episode> StartAsync(RolloutWorkItem item, IEnvironmentSession session, CancellationToken cancellationToken)
    {
        long id = Interlocked.Increment(ref _nextEpisodeId);
        return item.ReplayFrom is null
            ? Episode.StartAsync(id, item.Task, item.Sample, session, suite.Protocol, _options.MaxSteps, cancellationToken)
            : EpisodeReplay.RestoreAsync(session, suite.Protocol, item.Task, item.ReplayFrom, item.ReplaySteps, id, item.Sample, _options.MaxSteps, cancellationToken);
    }

    private static RolloutOptions Validate(RolloutOptions options)
    {
        if (options.Concurrency < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Concurrency, "concurrency must be at least 1");
        if (options.MaxSteps is < 1) throw new ArgumentOutOfRangeException(nameof(options), options.MaxSteps, "max steps must be at least 1");
        if (options.EnvironmentParallelism < 1) throw new ArgumentOutOfRangeException(nameof(options), options.EnvironmentParallelism, "environment parallelism must be at least 1");
        if (options.MaxEpisodeErrors < 0) throw new ArgumentOutOfRangeException(nameof(options), options.MaxEpisodeErrors, "max episode errors must be >= 0");
        return options;
    }
}
