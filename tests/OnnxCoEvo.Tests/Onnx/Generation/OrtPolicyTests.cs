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
    public async Task Constrained_actions_turn_a_model_that_garbles_ids_into_one_that_shops_and_every_step_changes_the_page()
    {
        IEnvironmentSuite suite = EnvironmentRegistry.Open("webshop", new EnvironmentSettings { WebShopProducts = 200 });
        var tokenizer = TinyModel.Tokenizer;
        int marker = tokenizer.TokenToId("<|assistant|>")!.Value, end = tokenizer.TokenToId("<|end|>")!.Value;
        // Every turn the scripted model writes the same thing: a click on an id no page has.
        int[] script = tokenizer.Encode("Thought: this one\nAction: click[B0QQQQQQQQ]");
        ScriptedDecoderModel Model() => new(tokenizer.VocabSize, tokens =>
        {
            int at = tokens.Count - 1;
            while (at >= 0 && tokens[at] != marker) at--;
            int after = tokens.Count - 1 - at;
            return after < script.Length ? script[after] : end;
        });
        async Task<IReadOnlyList<Trajectory>> Play(bool constrain)
        {
            var options = new ModelPolicyOptions { MaxNewTokens = 48, IncludeExample = false, ConstrainActions = constrain };
            await using var policy = new OrtPolicy("scripted", Model(), TinyModel.Template, suite.Protocol, options);
            Assert.Equal(constrain, ((IPolicy)policy).NeedsActionSpace);
            RolloutWorkItem[] work = suite.Tasks(EnvironmentSplits.Train).Take(3).Select(t => new RolloutWorkItem(t)).ToArray();
            var sink = new InMemoryRolloutSink();
            RolloutSummary summary = await new RolloutFarm(suite, policy, new RolloutOptions { MaxSteps = 6 }).RunAsync(work, sink);
            Assert.Equal(0, summary.Errors);
            return sink.Trajectories;
        }

        // Free: the click on the search page changes nothing, turn after turn, until the step limit.
        IReadOnlyList<Trajectory> free = await Play(constrain: false);
        Assert.All(free, t => Assert.Equal(TrajectoryEndReason.MaxSteps, t.EndReason));

        // Constrained: the only action on the search page is a search; after it every click names something the page
        // shows (here "Back to Search", the only clickable that starts with "B" on an empty results page). Every step
        // changes the page: none is a no-op.
        IReadOnlyList<Trajectory> constrained = await Play(constrain: true);
        Assert.All(constrained, t =>
        {
            var turns = t.Turns.Skip(2).ToList(); // first observation, then assistant / observation pairs
            for (int i = 1; i + 1 < turns.Count; i += 2)
            {
                string? action = OnnxCoEvo.Agents.Protocol.ReActParser.Parse(turns[i].Content).Action;
                Assert.NotNull(action);
                string before = turns[i - 1].Content;
                Assert.True(action.StartsWith("search[", StringComparison.Ordinal) && before.Contains("[SEP] Search", StringComparison.Ordinal)
                    || action.StartsWith("click[", StringComparison.Ordinal) && before.Contains("[SEP] " + action[6..^1], StringComparison.Ordinal),
                    $"step {i / 2 + 1}: '{action}' is not an action of the page before it");
                Assert.NotEqual(before.Replace("Observation:\n", ""), turns[i + 1].Content.Replace("Observation:\n", ""));
            }
        });
    }

    [Fact]
    public void Constrained_actions_need_a_protocol_with_an_action_grammar()
    {
        var protocol = OnnxCoEvo.Agents.Environments.WebShop.WebShopProtocol.Instance with { ChoicesOf = null };
        var error = Assert.Throws<ArgumentException>(() => new OrtPolicy("scripted", new ScriptedDecoderModel(16, _ => 0), TinyModel.Template,
            protocol, new ModelPolicyOptions { ConstrainActions = true }));
        Assert.Contains("action grammar", error.Message);
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
