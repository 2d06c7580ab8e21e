using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Onnx.Adapters;
using OnnxCoEvo.Onnx.Decoder;
using OnnxCoEvo.Onnx.Generation;
using OnnxCoEvo.Onnx.Runtime;
using OnnxCoEvo.Training.Peft;

namespace OnnxCoEvo.Tests.Onnx.Generation;

/// <summary>The ONNX decoder run by ONNX Runtime against the fp32 reference, on the tiny preset, both attention kinds.</summary>
public sealed class OrtDecoderModelTests
{
    private static readonly GenerationSettings Greedy = new() { MaxNewTokens = 8, StopTokenIds = TinyModel.Template.StopTokenIds };

    /// <summary>Three turns of two episodes (the second starts a turn later), greedy; the texts of every turn.</summary>
    private static List<string> Converse(IDecoderModel model, bool reuse)
    {
        IChatTemplate template = TinyModel.Template;
        var generator = new Generator(model, template.Tokenizer) { ReuseKvCache = reuse };
        var conversations = new List<ChatMessage>[]
        {
            [ChatMessage.User("Put a clean mug on the table.")],
            [ChatMessage.User("Find a red shirt under 20 dollars.")],
        };
        var texts = new List<string>();
        for (int turn = 0; turn < 3; turn++)
        {
            int episodes = turn == 0 ? 1 : 2;
            GenerationRequest[] batch = Enumerable.Range(0, episodes)
                .Select(e => new GenerationRequest(e, template.Render(conversations[e], addGenerationPrompt: true).TokenIds)).ToArray();
            IReadOnlyList<GenerationResult> results = generator.Generate(batch, Greedy);
            for (int e = 0; e < episodes; e++)
            {
                texts.Add(string.Join(",", results[e].TokenIds));
                conversations[e].Add(ChatMessage.Assistant(results[e].Text));
                conversations[e].Add(ChatMessage.User($"Observation: you see item {turn}."));
            }
        }
        generator.EndEpisode(0);
        generator.EndEpisode(1);
        return texts;
    }

    [Theory]
    [InlineData(DecoderAttention.GroupQueryAttention)]
    [InlineData(DecoderAttention.StandardOps)]
    public void Greedy_turns_match_the_reference_token_for_token_with_and_without_kv_reuse(DecoderAttention attention)
    {
        using var reference = ReferenceDecoderModel.Open(TinyModel.Directory);
        List<string> expected = Converse(reference, reuse: false);
        using OrtDecoderModel onnx = OrtDecoderModel.Open(TinyModel.Onnx(attention));
        Assert.Equal(attention == DecoderAttention.GroupQueryAttention, onnx.Config.PastPresentShareBuffer);
        Assert.Equal(expected, Converse(onnx, reuse: true));
        Assert.Equal(expected, Converse(onnx, reuse: false));
    }

    [Theory]
    [InlineData(DecoderAttention.GroupQueryAttention)]
    [InlineData(DecoderAttention.StandardOps)]
    public void Logits_after_prefill_decode_truncation_and_regrowth_match_the_reference(DecoderAttention attention)
    {
        using var reference = ReferenceDecoderModel.Open(TinyModel.Directory);
        using OrtDecoderModel onnx = OrtDecoderModel.Open(TinyModel.Onnx(attention));
        int vocab = onnx.VocabSize;
        // Past the shared buffer's first capacity (64) so it grows with rows to copy.
        int[] tokens = TinyModel.Tokenizer.Encode(string.Concat(Enumerable.Repeat("the mug is on the red table and ", 12)));
        Assert.True(tokens.Length > 80);
        var expected = new float[vocab];
        var actual = new float[vocab];
        void Check(int slot, int[] step)
        {
            reference.Forward([new DecoderStep(slot, step)], expected);
            onnx.Forward([new DecoderStep(slot, step)], actual);
            for (int v = 0; v < vocab; v++)
                Assert.True(Math.Abs(expected[v] - actual[v]) < 1e-3f, $"logit {v}: {actual[v]} vs {expected[v]}");
        }
        Check(3, tokens[..40]);
        Check(3, tokens[40..41]);
        Check(3, tokens[41..]);
        Assert.Equal(tokens.Length, onnx.CachedLength(3));
        reference.Truncate(3, 20);
        onnx.Truncate(3, 20);
        Check(3, tokens[30..33]);
        Check(7, tokens[..5]);   // another slot alongside
        onnx.Release(3);
        Assert.Equal(0, onnx.CachedLength(3));
    }

    [Fact]
    public void A_peft_adapter_changes_the_output_matches_the_reference_and_switches_off_again()
    {
        PeftAdapter peft = PeftAdapter.Load(TinyModel.AdapterDirectory, TinyModel.Config);
        using var referenceWithAdapter = ReferenceDecoderModel.Open(TinyModel.Directory, peft);
        using var referenceBase = ReferenceDecoderModel.Open(TinyModel.Directory);
        List<string> adapted = Converse(referenceWithAdapter, reuse: true);
        List<string> plain = Converse(referenceBase, reuse: true);
        Assert.NotEqual(plain, adapted);

        using OrtDecoderModel onnx = OrtDecoderModel.Open(TinyModel.GqaOnnx);
        using DecoderLoraAdapter adapter = DecoderLoraAdapter.Load(TinyModel.AdapterDirectory, () => TinyModel.Config);
        Assert.Equal(plain, Converse(onnx, reuse: true));
        onnx.SetAdapter(adapter);
        Assert.Equal(adapted, Converse(onnx, reuse: true));
        onnx.SetAdapter(null);
        Assert.Equal(plain, Converse(onnx, reuse: true));

        // The same adapter as an ORT .onnx_adapter file, activated through the run options.
        string file = Path.Combine(TinyModel.Directory, "adapter" + OnnxAdapterFile.Extension);
        OnnxAdapterFile.Save(file, DecoderLoraInputs.FromPeft(peft, TinyModel.Config).Where(t => t.Values.Length > 0)
            .Select(t => new OnnxAdapterParameter(t.Name, TensorElementType.Float, t.LongShape,
                System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.Values.AsSpan()).ToArray())).ToList());
        using DecoderLoraAdapter ortAdapter = DecoderLoraAdapter.Load(file, () => throw new InvalidOperationException("not needed for a file"));
        onnx.SetAdapter(ortAdapter);                    // bound as inputs (IoBinding ignores active adapters)
        Assert.Equal(adapted, Converse(onnx, reuse: true));
        using OrtDecoderModel standard = OrtDecoderModel.Open(TinyModel.StandardOnnx);
        standard.SetAdapter(ortAdapter);                // plain runs: ORT feeds it from the run options
        Assert.Equal(adapted, Converse(standard, reuse: true));
    }

    [Fact]
    public void A_model_directory_or_its_onnx_folder_opens_and_a_folder_without_genai_config_is_refused()
    {
        Assert.Equal(TinyModel.GqaOnnx, OrtDecoderModel.ResolveDirectory(TinyModel.Directory));
        Assert.Equal(TinyModel.GqaOnnx, OrtDecoderModel.ResolveDirectory(TinyModel.GqaOnnx));
        var error = Assert.Throws<FileNotFoundException>(() => OrtDecoderModel.ResolveDirectory(Path.GetTempPath()));
        Assert.Contains("genai_config.json", error.Message);
    }
}
