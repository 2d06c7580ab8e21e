using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Onnx.Generation;

namespace OnnxCoEvo.Tests.Onnx.Generation;

/// <summary>The CPU reference behind the decoder seam, and the generator over a real (tiny, random) model.</summary>
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
        var settings = new GenerationSettings { MaxNewTokens = 4, StopTokenIds = template.StopTokenIds };
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
}
