using System.Globalization;
using OnnxCoEvo.Training.Trainer;
using Spectre.Console;

namespace OnnxCoEvo.Cli.Terminal;

/// <summary>A progress bar over optimizer steps whose description carries the live loss (and DPO reward margin) and tokens/s.</summary>
public static class TrainingProgressView
{
    public static T Run<T>(TrainingObjective objective, Func<IProgress<TrainingProgress>, T> work)
    {
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                     new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                ProgressTask task = ctx.AddTask(objective == TrainingObjective.Sft ? "sft" : "dpo", autoStart: true, maxValue: 1);
                result = work(new Reporter(task, objective));
            });
        return result;
    }

    private sealed class Reporter(ProgressTask task, TrainingObjective objective) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress p)
        {
            task.MaxValue = p.TotalSteps;
            task.Value = p.Step;
            string margin = p.Result.RewardMargin is { } m ? $" margin {m.ToString("0.000", CultureInfo.InvariantCulture)}" : "";
            task.Description = $"{(objective == TrainingObjective.Sft ? "sft" : "dpo")} step {p.Step}/{p.TotalSteps} " +
                $"loss {p.Result.Loss.ToString("0.0000", CultureInfo.InvariantCulture)}{margin} " +
                $"{p.TokensPerSecond.ToString("0", CultureInfo.InvariantCulture)} tok/s";
        }
    }
}
