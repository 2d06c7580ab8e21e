using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Policies;
using OnnxCoEvo.Agents.Rollouts;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Trajectories;
using OnnxCoEvo.Onnx.Generation;

namespace OnnxCoEvo.Tests.Onnx.Generation;

/// <summary>The CPU reference behind the decoder seam, the generator over a real (tiny, random) model, and the model policy in the farm.</summary>
public sealed class ReferenceDecoderModelTests
{
    [Fact]
    public void Appending_in_pieces_or_in_a_batch_gives_the_logits_of_the_whole_sequence()
    {
        using ReferenceDecoderModel model = ReferenceDecoderModel.Open(TinyModel.Directory);
        int vocab = model.VocabSize;
        int[] a = TinyModel.Tokenizer.Encode("the red mug is on the table");
        int[] b = TinyModel.Tokenizer.Encode("go to the shelf");
        var whole = new float[2 * vocab];
        model.Forward([new DecoderStep(0, a), new DecoderStep(1, b)], whole);

        var pieces = new float[vocab];
        model.Forward([new DecoderStep(2, a[..3])], pieces);
        model.Forward([new DecoderStep(2, a[3..])], pieces);
        Assert.Equal(whole[..vocab], pieces);
        Assert.Equal(a.Length, model.CachedLength(2));

        model.Truncate(1, 0);
        var alone = new float[vocab];
        model.Forward([new DecoderStep(1, b)], alone);
        Assert.Equal(whole[vocab..], alone);
        Assert.NotEqual(alone, pieces);

        Assert.Throws<ArgumentOutOfRangeException>(() => model.Truncate(1, b.Length + 1));
        Assert.Throws<ArgumentException>(() => model.Forward([new DecoderStep(3, new[] { vocab })], alone));
        model.Release(1);
        Assert.Equal(0, model.CachedLength(1));
    }

    [Fact]
    public void Greedy_generation_over_turns_is_the_same_with_the_cache_reused_or_re_encoded()
    {
        IChatTemplate template = TinyModel.Template;
        var settings = new GenerationSettings { MaxNewTokens = 6, StopTokenIds = template.StopTokenIds };
        List<string> Run(bool reuse)
        {
            using ReferenceDecoderModel model = ReferenceDecoderModel.Open(TinyModel.Directory);
            var generator = new Generator(model, template.Tokenizer) { ReuseKvCache = reuse };
            var conversation = new List<ChatMessage> { ChatMessage.User("Put a mug on the table.") };
            var texts = new List<string>();
            for (int turn = 0; turn < 3; turn++)
            {
                int[] prompt = template.Render(conversation, addGenerationPrompt: true).TokenIds;
                GenerationResult result = generator.Generate([new GenerationRequest(1, prompt)], settings)[0];
                Assert.Equal(reuse && turn > 0, result.ReusedTokens > 0);
                texts.Add(result.Text);
                conversation.Add(ChatMessage.Assistant(result.Text));
                conversation.Add(ChatMessage.User($"Observation: step {turn}"));
            }
            return texts;
        }
        Assert.Equal(Run(reuse: false), Run(reuse: true));
    }

    [Fact]
    public async Task The_model_policy_plays_household_episodes_in_the_farm_deterministically()
    {
        IEnvironmentSuite suite = EnvironmentRegistry.Open("household");
        RolloutWorkItem[] work = suite.Tasks(EnvironmentSplits.Train).Take(2).Select(t => new RolloutWorkItem(t)).ToArray();
        async Task<(IReadOnlyList<Trajectory>, RolloutSummary, int)> Play()
        {
            var options = new ModelPolicyOptions { MaxNewTokens = 6, IncludeExample = false };
            await using var policy = new OrtPolicy("reference:tiny", ReferenceDecoderModel.Open(TinyModel.Directory), TinyModel.Template, suite.Protocol, options);
            var sink = new InMemoryRolloutSink();
            RolloutSummary summary = await new RolloutFarm(suite, policy, new RolloutOptions { MaxSteps = 2 }).RunAsync(work, sink);
            return (sink.Trajectories, summary, policy.Generator.LiveEpisodes);
        }
        (IReadOnlyList<Trajectory> first, RolloutSummary summary, int live) = await Play();
        Assert.Equal(2, first.Count);
        Assert.Equal(0, live); // the farm ended every episode: no slot left
        Assert.All(first, t => Assert.Equal("reference:tiny", t.Policy));
        Assert.Equal(2 * 2, summary.Steps);
        Assert.InRange(summary.GeneratedTokens, 4, 4 * 6);
        Assert.True(summary.PromptTokens > 100);
        (IReadOnlyList<Trajectory> second, _, _) = await Play();
        Assert.Equal(first.Select(t => string.Join("|", t.Turns.Select(m => m.Content))), second.Select(t => string.Join("|", t.Turns.Select(m => m.Content))));
    }
}
