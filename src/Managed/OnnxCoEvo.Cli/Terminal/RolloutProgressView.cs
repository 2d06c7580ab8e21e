using System.Globalization;
using OnnxCoEvo.Agents.Rollouts;
using Spectre.Console;

namespace OnnxCoEvo.Cli.Terminal;

/// <summary>A progress bar over episodes whose description carries the live count, mean reward ×100, success rate and episodes/s.</summary>
public static class RolloutProgressView
{
    public static async Task<T> RunAsync<T>(string label, int total, Func<IProgress<RolloutProgress>, Task<T>> work)
    {
        T result = default!;
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                     new ElapsedTimeColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                ProgressTask task = ctx.AddTask(label, autoStart: true, maxValue: Math.Max(1, total));
                result = await work(new Reporter(task, label)).ConfigureAwait(false);
                task.Value = task.MaxValue;
            }).ConfigureAwait(false);
        return result;
    }

    private sealed class Reporter(ProgressTask task, string label) : IProgress<RolloutProgress>
    {
        public void Report(RolloutProgress p)
        {
            task.Value = p.Finished;
            double rate = p.Elapsed.TotalSeconds > 0 ? p.Finished / p.Elapsed.TotalSeconds : 0;
            string success = p.Finished == 0 ? "-" : (100.0 * p.Successes / p.Finished).ToString("0.0", CultureInfo.InvariantCulture) + "%";
            task.Description = $"{label} {p.Finished}/{p.Total} live {p.Live} score {(100 * p.MeanReward).ToString("0.0", CultureInfo.InvariantCulture)} " +
                $"success {success} {rate.ToString("0.0", CultureInfo.InvariantCulture)} ep/s" + (p.Errors > 0 ? $" errors {p.Errors}" : "");
        }
    }
}
