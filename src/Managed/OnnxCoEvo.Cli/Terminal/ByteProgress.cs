using Spectre.Console;

namespace OnnxCoEvo.Cli.Terminal;

/// <summary>
/// Runs long byte-counted work (writing weights, copying files) under a Spectre progress bar with transfer speed
/// and ETA. The work reports bytes done through the <see cref="IProgress{T}"/> it is handed.
/// </summary>
public static class ByteProgress
{
    public static T Run<T>(string description, long totalBytes, Func<IProgress<long>, T> work)
    {
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                     new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                ProgressTask task = ctx.AddTask(description, maxValue: Math.Max(1, totalBytes));
                result = work(new TaskProgress(task));
                task.Value = task.MaxValue;
            });
        return result;
    }

    /// <summary>Reports absolute bytes done; thread-safe because the initializer reports from worker threads.</summary>
    private sealed class TaskProgress(ProgressTask task) : IProgress<long>
    {
        private long _latest;

        public void Report(long bytesDone)
        {
            long seen = Interlocked.Read(ref _latest);
            while (bytesDone > seen)
            {
                long previous = Interlocked.CompareExchange(ref _latest, bytesDone, seen);
                if (previous == seen)
                {
                    task.Value = bytesDone;
                    return;
                }
                seen = previous;
            }
        }
    }
}
