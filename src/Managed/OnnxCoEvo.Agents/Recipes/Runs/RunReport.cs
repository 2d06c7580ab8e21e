using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OnnxCoEvo.Core;

namespace OnnxCoEvo.Agents.Recipes.Runs;

/// <summary>One evaluated iteration: the numbers of EEF's main table plus the co-evolving shares.</summary>
public sealed record IterationScore(int Iteration, string Method, int Episodes, double Score, double SuccessRate, double FailureShare, double NearSuccessShare);

/// <summary>
/// report.md (a table shaped like EEF's main table: method, win rate, mean reward ×100, plus failure and
/// near-success shares; the training data of every iteration) and learning_curve.svg (score and win rate per
/// iteration), rebuilt from the run directory after every iteration.
/// </summary>
public sealed record RunReport(string RunName, string Recipe, IReadOnlyList<IterationScore> Scores, string ReportPath, string CurvePath)
{
    public IterationScore? Final => Scores.Count == 0 ? null : Scores[^1];

    public static RunReport Write(RunDirectory run, RunConfig config)
    {
        var scores = new List<IterationScore>();
        var counts = new List<(int Iteration, JsonObject Counts)>();
        for (int k = 0; k <= (config.Iterations ?? 0); k++)
        {
            StageLedger iteration = run.Iteration(k);
            string summary = iteration.File(Path.Combine("eval", "summary.json"));
            if (iteration.IsDone("eval") && File.Exists(summary))
                scores.Add(ReadScore(summary, k, k == 0 ? "start model" : $"{config.Recipe} iter {k}"));
            string countsFile = iteration.File("counts.json");
            if (File.Exists(countsFile) && JsonNode.Parse(File.ReadAllText(countsFile)) is JsonObject c)
                counts.Add((k, c));
        }
        var report = new RunReport(config.Name, config.Recipe, scores, run.Report, run.LearningCurve);
        AtomicFile.WriteAllText(run.LearningCurve, LearningCurveSvg(scores, $"{config.Name} ({config.Recipe}, {config.Env} {config.Eval.Split})"));
        AtomicFile.WriteAllText(run.Report, report.Markdown(config, counts));
        return report;
    }

    private static IterationScore ReadScore(string path, int k, string method)
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(path));
            JsonElement r = doc.RootElement;
            return new IterationScore(k, method, r.GetProperty("episodes").GetInt32(), r.GetProperty("score").GetDouble(),
                r.GetProperty("success_rate").GetDouble(), r.GetProperty("failure_share").GetDouble(), r.GetProperty("near_success_share").GetDouble());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new DataFormatException(path, "summary", e.Message, e);
        }
    }

    private static string F(double v, string format = "0.0") => v.ToString(format, CultureInfo.InvariantCulture);

    private string Markdown(RunConfig config, IReadOnlyList<(int Iteration, JsonObject Counts)> counts)
    {
        var md = new StringBuilder();
        md.Append("# ").Append(RunName).Append(" (").Append(Recipe).Append(")\n\n");
        md.Append($"Environment {config.Env}, evaluated greedily on {config.Eval.Split}" +
                  (Scores.Count > 0 ? $" ({Scores[0].Episodes} tasks)" : "") + $" after every iteration. Starting model `{config.Model}`, " +
                  $"training {config.Train.Mode}; rollouts: {config.Rollout.Samples} per train task at temperature " +
                  $"{F(config.Rollout.Temperature ?? 0, "0.##")}" + (config.UsesEef ? $", plus {config.Eef.Probes} EEF probes per failed expert trajectory" : "") +
                  ". Resolved settings: config.resolved.yaml.\n\n");
        AppendTable(md, Scores);
        md.Append("\nWin = reward 1.0; near-success = a failure with reward >= 0.6 (co-evolving agents' hard negatives).\n\n");
        md.Append("![learning curve](learning_curve.svg)\n");
        if (counts.Count > 0)
        {
            md.Append("\n## Training data per iteration\n\n");
            foreach ((int k, JsonObject c) in counts)
                foreach ((string stage, JsonNode? values) in c)
                    if (values is JsonObject o)
                        md.Append($"- iter {k} {stage}: ").Append(string.Join(", ", o.Select(kv => $"{kv.Key.Replace('_', ' ')} {Format(kv.Value)}"))).Append('\n');
        }
        return md.ToString();
    }

    /// <summary>EEF's main-table columns (win rate, reward x100) plus the failure and near-success shares.</summary>
    public static void AppendTable(StringBuilder md, IEnumerable<IterationScore> rows)
    {
        md.Append("| Method | Win rate (%) | Reward (x100) | Failure (%) | Near-success (%) | Episodes |\n");
        md.Append("|---|---:|---:|---:|---:|---:|\n");
        foreach (IterationScore s in rows)
            md.Append($"| {s.Method} | {F(100 * s.SuccessRate)} | {F(s.Score)} | {F(100 * s.FailureShare)} | {F(100 * s.NearSuccessShare)} | {s.Episodes} |\n");
    }

    private static string Format(JsonNode? value) =>
        value is JsonValue v && v.TryGetValue(out double d) && d != Math.Floor(d) ? F(d, "0.###") : value?.ToJsonString() ?? "null";

    /// <summary>A hand-written SVG line chart: mean reward ×100 and win rate (%) against the iteration.</summary>
    public static string LearningCurveSvg(IReadOnlyList<IterationScore> scores, string title)
    {
        const int width = 480, height = 300, left = 50, right = 20, top = 40, bottom = 40;
        int plotWidth = width - left - right, plotHeight = height - top - bottom;
        int last = Math.Max(1, scores.Count == 0 ? 1 : scores.Max(s => s.Iteration));
        string X(int iteration) => F(left + plotWidth * (double)iteration / last, "0.#");
        string Y(double percent) => F(top + plotHeight * (1 - Math.Clamp(percent, 0, 100) / 100), "0.#");
        string Escape(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

        var svg = new StringBuilder();
        svg.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n");
        svg.Append($"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        svg.Append($"<text x=\"{width / 2}\" y=\"20\" text-anchor=\"middle\" font-size=\"13\">{Escape(title)}</text>\n");
        for (int p = 0; p <= 100; p += 25)
            svg.Append($"<line x1=\"{left}\" y1=\"{Y(p)}\" x2=\"{width - right}\" y2=\"{Y(p)}\" stroke=\"#ddd\"/><text x=\"{left - 6}\" y=\"{Y(p)}\" text-anchor=\"end\" dy=\"4\">{p}</text>\n");
        for (int k = 0; k <= last; k++)
            svg.Append($"<text x=\"{X(k)}\" y=\"{height - bottom + 16}\" text-anchor=\"middle\">{k}</text>\n");
        svg.Append($"<text x=\"{left + plotWidth / 2}\" y=\"{height - 6}\" text-anchor=\"middle\">iteration</text>\n");
        Series(svg, scores.Select(s => (s.Iteration, s.Score)), "#1f77b4", X, Y);
        Series(svg, scores.Select(s => (s.Iteration, 100 * s.SuccessRate)), "#d62728", X, Y);
        svg.Append($"<text x=\"{left + 8}\" y=\"{top - 6}\" fill=\"#1f77b4\">reward x100</text>");
        svg.Append($"<text x=\"{left + 100}\" y=\"{top - 6}\" fill=\"#d62728\">win rate %</text>\n</svg>\n");
        return svg.ToString();
    }

    private static void Series(StringBuilder svg, IEnumerable<(int Iteration, double Value)> points, string colour, Func<int, string> x, Func<double, string> y)
    {
        var list = points.ToList();
        if (list.Count == 0)
            return;
        svg.Append($"<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"")
            .Append(string.Join(" ", list.Select(p => $"{x(p.Iteration)},{y(p.Value)}"))).Append("\"/>\n");
        foreach ((int k, double v) in list)
            svg.Append($"<circle cx=\"{x(k)}\" cy=\"{y(v)}\" r=\"3\" fill=\"{colour}\"/>\n");
    }
}
