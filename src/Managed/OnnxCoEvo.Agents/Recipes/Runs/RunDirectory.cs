using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using OnnxCoEvo.Core;

namespace OnnxCoEvo.Agents.Recipes.Runs;

/// <summary>
/// runs/&lt;name&gt;/: config.resolved.yaml, experts.jsonl (when the scripted expert writes them), iter-NN/ per iteration
/// (iter-00 is the starting model's evaluation), report.md and learning_curve.svg.
/// </summary>
public sealed class RunDirectory(string path)
{
    public string Path { get; } = System.IO.Path.GetFullPath(path);

    public string ResolvedConfig => System.IO.Path.Combine(Path, RunConfig.ResolvedFileName);
    public string Experts => System.IO.Path.Combine(Path, "experts.jsonl");
    public string Report => System.IO.Path.Combine(Path, "report.md");
    public string LearningCurve => System.IO.Path.Combine(Path, "learning_curve.svg");

    public static string IterationName(int iteration) => string.Create(CultureInfo.InvariantCulture, $"iter-{iteration:00}");

    public StageLedger Iteration(int iteration) => new(System.IO.Path.Combine(Path, IterationName(iteration)));

    /// <summary>Run-level stages (the expert trajectories) keep their markers in the run directory itself.</summary>
    public StageLedger Root => new(Path);

    /// <summary>
    /// Writes the resolved config on the first run; later runs must resolve to the same values, otherwise they are
    /// refused naming the first field that differs (a run directory holds one experiment).
    /// </summary>
    public void Claim(RunConfig resolved)
    {
        Directory.CreateDirectory(Path);
        if (File.Exists(ResolvedConfig))
        {
            RunConfig stored = RunConfig.Load(ResolvedConfig);
            if (resolved.FirstDifference(stored, out string? was) is { } entry)
                throw new ArgumentException(
                    $"{ResolvedConfig}: {entry.Field} was {was ?? "(absent)"}, the config now says {entry.Value}; " +
                    "a run directory holds one experiment: restore the value, change name, or delete the run directory");
            return;
        }
        AtomicFile.WriteAllText(ResolvedConfig, resolved.ToYaml());
    }
}

/// <summary>
/// The stage markers of one folder: "&lt;stage&gt;.done" is written atomically after the stage's outputs, so a rerun skips
/// exactly the stages that finished; it holds the stage's counts and results (JSON) for the later stages and the report.
/// </summary>
public sealed class StageLedger(string directory)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public string Directory { get; } = directory;

    public string File(string name) => System.IO.Path.Combine(Directory, name);

    public string MarkerPath(string stage) => File(stage + ".done");

    public bool IsDone(string stage) => System.IO.File.Exists(MarkerPath(stage));

    public JsonObject? Read(string stage)
    {
        string marker = MarkerPath(stage);
        if (!System.IO.File.Exists(marker))
            return null;
        try
        {
            return JsonNode.Parse(System.IO.File.ReadAllText(marker)) as JsonObject
                ?? throw new DataFormatException(marker, "root", "expected a JSON object");
        }
        catch (JsonException e)
        {
            throw new DataFormatException(marker, "json", e.Message + " (delete the marker to redo the stage)", e);
        }
    }

    /// <summary>Runs the stage unless its marker exists; returns the marker's content either way.</summary>
    public async Task<JsonObject> RunOnceAsync(string stage, Func<Task<JsonObject>> body, Action<string>? log = null)
    {
        if (Read(stage) is { } done)
        {
            log?.Invoke($"{System.IO.Path.GetFileName(Directory)}/{stage}: done earlier, skipped");
            return done;
        }
        System.IO.Directory.CreateDirectory(Directory);
        JsonObject result = await body().ConfigureAwait(false);
        result["finished_utc"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture);
        AtomicFile.WriteAllText(MarkerPath(stage), result.ToJsonString(Indented) + "\n");
        return result;
    }

    public JsonObject RunOnce(string stage, Func<JsonObject> body, Action<string>? log = null) =>
        RunOnceAsync(stage, () => Task.FromResult(body()), log).GetAwaiter().GetResult();
}
