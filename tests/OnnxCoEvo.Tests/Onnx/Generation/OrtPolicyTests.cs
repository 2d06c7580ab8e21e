using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Policies;
using OnnxCoEvo.Agents.Rollouts;
using OnnxCoEvo.Core.Trajectories;
using OnnxCoEvo.Onnx.Generation;

namespace OnnxCoEvo.Tests.Onnx.Generation;

/// <summary>The "onnx:DIR" policy in the rollout farm on the built-in environments, against the same policy over the reference.</summary>
public sealed class OrtPolicyTests
{
    private static readonly ModelPolicyOptions Options = new() { MaxNewTokens = 6, IncludeExample = false };

    private static async Task<(IReadOnlyList<Trajectory> Trajectories, RolloutSummary Summary)> PlayAsync(IEnvironmentSuite suite, IPolicy policy, int tasks)
    {
        RolloutWorkItem[] work = suite.Tasks(EnvironmentSplits.Train).Take(tasks).Select(t => new RolloutWorkItem(t)).ToArray();
        var sink = new InMemoryRolloutSink();
        RolloutSummary summary = await new RolloutFarm(suite, policy, new RolloutOptions { MaxSteps = 2 }).RunAsync(work, sink);
        return (sink.Trajectories.OrderBy(t => t.TaskId, StringComparer.Ordinal).ToList(), summary);
    }

    private static IEnumerable<string> Texts(IReadOnlyList<Trajectory> trajectories) =>
        trajectories.Select(t => t.TaskId + ": " + string.Join(" | ", t.Turns.Select(m => m.Content)));

    [Fact]
    public async Task Household_episodes_through_the_farm_match_the_reference_policy_turn_for_turn()
    {
        IEnvironmentSuite suite = EnvironmentRegistry.Open("household");
        IReadOnlyList<Trajectory> onnx;
        RolloutSummary summary;
        await using (IPolicy policy = PolicyFactory.Create(OrtPolicy.SpecPrefix + TinyModel.DirectoryWithOnnx, suite, new ExpertOptions(), Options))
        {
            Assert.Equal("onnx:" + TinyModel.DirectoryWithOnnx, policy.Name);
            (onnx, summary) = await PlayAsync(suite, policy, tasks: 1);
            Assert.Equal(0, ((OrtPolicy)policy).Generator.LiveEpisodes); // the farm ended every episode: no slot left
        }
        Assert.Single(onnx);
        Assert.Equal(0, summary.Errors);
        Assert.True(summary.PromptTokens > 0 && summary.GeneratedTokens > 0);

        await using var reference = new OrtPolicy("reference", ReferenceDecoderModel.Open(TinyModel.Directory), TinyModel.Template, suite.Protocol, Options);
        (IReadOnlyList<Trajectory> expected, _) = await PlayAsync(suite, reference, tasks: 1);
        Assert.Equal(Texts(expected), Texts(onnx));
    }

    [Fact]
    public async Task WebShop_episodes_are_the_same_with_the_kv_cache_reused_or_re_encoded()
    {
        IEnvironmentSuite suite = EnvironmentRegistry.Open("webshop", new EnvironmentSettings { WebShopProducts = 200 });
        async Task<(IReadOnlyList<Trajectory>, RolloutSummary, GeneratorStatistics)> Play(bool reuse)
        {
            await using IPolicy policy = PolicyFactory.Create(OrtPolicy.SpecPrefix + TinyModel.GqaOnnx, suite, new ExpertOptions(),
                Options with { ReuseKvCache = reuse });
            (IReadOnlyList<Trajectory> trajectories, RolloutSummary summary) = await PlayAsync(suite, policy, tasks: 3);
            return (trajectories, summary, ((OrtPolicy)policy).Generator.Statistics);
        }
        (IReadOnlyList<Trajectory> reused, RolloutSummary summary, GeneratorStatistics withCache) = await Play(reuse: true);
        (IReadOnlyList<Trajectory> reencoded, _, GeneratorStatistics without) = await Play(reuse: false);
        Assert.Equal(3, reused.Count);
        Assert.Equal(0, summary.Errors);
        Assert.All(reused, t => Assert.Equal(2, t.Steps));
        Assert.Equal(Texts(reencoded), Texts(reused));
        Assert.Equal(0, without.ReusedTokens);
        Assert.True(withCache.ReusedTokens > withCache.PrefillTokens / 2); // the second turn reuses the first turn's prompt
        Assert.Equal(without.PromptTokens, withCache.PromptTokens);
    }

    [Fact]
    public async Task The_in_context_example_lengthens_the_prompt_and_sampling_is_seeded()
    {
        IEnvironmentSuite suite = EnvironmentRegistry.Open("household");
        async Task<(IReadOnlyList<Trajectory>, RolloutSummary)> Play(ModelPolicyOptions options)
        {
            await using IPolicy policy = PolicyFactory.Create(OrtPolicy.SpecPrefix + TinyModel.GqaOnnx, suite, new ExpertOptions(), options);
            return await PlayAsync(suite, policy, tasks: 2);
        }
        (_, RolloutSummary plain) = await Play(Options);
        (_, RolloutSummary withExample) = await Play(Options with { IncludeExample = true });
        Assert.True(withExample.PromptTokens > plain.PromptTokens + 100);

        var sampled = Options with { Sampling = new SamplingOptions { Temperature = 1.0, TopK = 40 }, Seed = 3 };
        (IReadOnlyList<Trajectory> a, _) = await Play(sampled);
        (IReadOnlyList<Trajectory> b, _) = await Play(sampled);
        (IReadOnlyList<Trajectory> c, _) = await Play(sampled with { Seed = 4 });
        Assert.Equal(Texts(a), Texts(b));
        Assert.NotEqual(Texts(a), Texts(c));
    }

    [Fact]
    public void Bad_specs_say_what_is_wrong()
    {
        IEnvironmentSuite suite = EnvironmentRegistry.Open("household");
        Assert.Throws<ArgumentException>(() => PolicyFactory.Create("onnx:", suite, new ExpertOptions()));
        Assert.Throws<FileNotFoundException>(() => PolicyFactory.Create("onnx:" + Path.GetTempPath(), suite, new ExpertOptions()));
        var error = Assert.Throws<ArgumentException>(() => PolicyFactory.Create("expert", suite, new ExpertOptions(), new ModelPolicyOptions { Adapter = "x" }));
        Assert.Contains("--adapter", error.Message);
    }
}
