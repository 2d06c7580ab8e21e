using System.Text.Json;
using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Policies;
using OnnxCoEvo.Agents.Rollouts;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Tests.Agents.Rollouts;

public sealed class EvaluationReportTests
{
    private static Trajectory Episode(string id, double reward, int steps, string end) => new()
    {
        TaskId = id, Environment = "webshop", Split = "test", Policy = "expert:webshop", Reward = reward,
        Success = reward == 1.0, Steps = steps, EndReason = end, Turns = [ChatMessage.User("i"), ChatMessage.Assistant("OK", false), ChatMessage.User("o")],
    };

    [Fact]
    public void Reports_score_x100_success_and_the_failure_shares()
    {
        Trajectory[] episodes =
        [
            Episode("webshop_0", 1.0, 4, "done"), Episode("webshop_1", 0.75, 5, "done"), Episode("webshop_2", 0.6, 3, "done"),
            Episode("webshop_3", 0.5, 6, "done"), Episode("webshop_4", 0.0, 10, "max_steps"),
        ];
        EvaluationReport r = EvaluationReport.From("webshop", "test", "expert:webshop", episodes);

        Assert.Equal(5, r.Episodes);
        Assert.Equal(1, r.Successes);
        Assert.Equal(57.0, r.Score, 9);                 // (1 + .75 + .6 + .5 + 0) / 5 x 100
        Assert.Equal(0.2, r.SuccessRate, 12);
        Assert.Equal(0.8, r.FailureShare, 12);
        Assert.Equal(0.4, r.NearSuccessShare, 12);      // 0.75 and 0.6 (0.6 counts, 0.5 does not)
        Assert.Equal(5.6, r.MeanSteps, 12);
        Assert.Equal(new Dictionary<string, int> { ["done"] = 4, ["max_steps"] = 1 }, r.EndReasons);

        using JsonDocument json = JsonDocument.Parse(r.ToJson());
        Assert.Equal(57.0, json.RootElement.GetProperty("score").GetDouble(), 9);
        Assert.Equal(0.2, json.RootElement.GetProperty("success_rate").GetDouble(), 12);
        Assert.Equal(1, json.RootElement.GetProperty("end_reasons").GetProperty("max_steps").GetInt32());
    }

    [Fact]
    public void An_empty_run_reports_zeros_not_nan()
    {
        EvaluationReport r = EvaluationReport.From("household", "test", "expert:household", []);
        Assert.Equal(0, r.Score);
        Assert.Equal(0, r.SuccessRate);
        Assert.Empty(r.EndReasons);
    }

    [Fact]
    public void Failure_rate_overrides_parse_and_resolve_against_the_known_modes()
    {
        IReadOnlyDictionary<string, double> parsed = PolicyFactory.ParseFailureRates("wrong_item=0.25, missing_option=0");
        Assert.Equal(0.25, parsed["wrong_item"]);
        Assert.Equal(0, parsed["missing_option"]);
        Assert.Throws<ArgumentException>(() => PolicyFactory.ParseFailureRates("wrong_item"));
        Assert.Throws<ArgumentException>(() => PolicyFactory.ParseFailureRates("wrong_item=lots"));

        var defaults = new Dictionary<string, double> { ["wrong_item"] = 0.1, ["missing_option"] = 0.2 };
        Assert.Equal(0.25, new ExpertOptions { FailureRates = parsed }.Resolve("webshop", defaults)["wrong_item"]);
        Assert.All(new ExpertOptions { NoFailures = true }.Resolve("webshop", defaults).Values, rate => Assert.Equal(0, rate));
        var unknown = Assert.Throws<ArgumentException>(() => new ExpertOptions { FailureRates = new Dictionary<string, double> { ["typo"] = 0.1 } }.Resolve("webshop", defaults));
        Assert.Contains("wrong_item, missing_option", unknown.Message);
        Assert.Throws<ArgumentException>(() => new ExpertOptions { FailureRates = new Dictionary<string, double> { ["wrong_item"] = 1.5 } }.Resolve("webshop", defaults));
    }

    [Fact]
    public void Unknown_environments_and_bad_remote_specs_name_what_is_known()
    {
        var unknown = Assert.Throws<ArgumentException>(() => EnvironmentRegistry.Open("sciworld"));
        Assert.Contains("unknown environment 'sciworld'", unknown.Message);
        var url = Assert.Throws<ArgumentException>(() => EnvironmentRegistry.Open("webshop@ftp://x"));
        Assert.Contains("not an http(s) URL", url.Message);
        Assert.Throws<ArgumentException>(() => PolicyFactory.Create("gpt-4", null!, new ExpertOptions()));
    }
}
