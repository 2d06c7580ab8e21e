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
    public void Batched_decode_steps_of_some_slots_leave_the_others_untouched()
    {
        using var reference = ReferenceDecoderModel.Open(TinyModel.Directory);
        using OrtDecoderModel onnx = OrtDecoderModel.Open(TinyModel.GqaOnnx);
        int vocab = onnx.VocabSize;
        int[][] prompts = new[] { "the red mug", "a clean plate is in the sink and the", "go to shelf 2" }.Select(t => TinyModel.Tokenizer.Encode(t)).ToArray();
        void Both(DecoderStep[] steps)
        {
            var expected = new float[steps.Length * vocab];
            var actual = new float[steps.Length * vocab];
            reference.Forward(steps, expected);
            onnx.Forward(steps, actual);
            for (int v = 0; v < expected.Length; v++)
                Assert.True(Math.Abs(expected[v] - actual[v]) < 1e-3f, $"logit {v % vocab} of step {v / vocab}: {actual[v]} vs {expected[v]}");
        }
        Both([new DecoderStep(0, prompts[0]), new DecoderStep(1, prompts[1]), new DecoderStep(2, prompts[2])]);
        Both([new DecoderStep(0, new[] { 5 }), new DecoderStep(2, new[] { 9 })]);   // slot 1's row rides along
        Both([new DecoderStep(2, new[] { 11 }), new DecoderStep(0, new[] { 6 })]);  // order within a call is free
        Both([new DecoderStep(1, new[] { 7 })]);                                  // slot 1 is as it was
        onnx.Release(0);
        reference.Release(0);
        Both([new DecoderStep(4, new[] { 3 }), new DecoderStep(1, new[] { 8 })]); // slot 4 takes the freed row 0
        Assert.Equal([0, prompts[1].Length + 2, prompts[2].Length + 2, 0, 1], Enumerable.Range(0, 5).Select(onnx.CachedLength));
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

/// <summary>A tiny model whose context is only 40 positions, so episodes reach it within a few turns.</summary>
public sealed class OrtDecoderContextLimitTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string BuildShortContextModel()
    {
        string model = Directory.CreateDirectory(Path.Combine(_dir.Path, "tiny-40")).FullName;
        foreach (string file in Directory.GetFiles(TinyModel.Directory))
            File.Copy(file, Path.Combine(model, Path.GetFileName(file)));
        string config = Path.Combine(model, "config.json");
        File.WriteAllText(config, System.Text.RegularExpressions.Regex.Replace(File.ReadAllText(config),
            "\"max_position_embeddings\":\\s*\\d+", "\"max_position_embeddings\": 40"));
        OnnxDecoderExport.Export(model, null, new OnnxDecoderOptions { Attention = DecoderAttention.GroupQueryAttention });
        return model;
    }

    [Fact]
    public void An_episode_at_the_end_of_the_context_stops_with_context_full_while_the_others_decode_on()
    {
        string model = BuildShortContextModel();
        using OrtDecoderModel onnx = OrtDecoderModel.Open(model);
        Assert.Equal(39, onnx.MaxSequenceLength);
        var tokenizer = TinyModel.Tokenizer;
        var generator = new Generator(onnx, tokenizer);
        var settings = new GenerationSettings { MaxNewTokens = 60, StopTokenIds = [] };
        int[] longPrompt = tokenizer.Encode("find a red shirt under twenty dollars and buy it now please");
        int[] shortPrompt = tokenizer.Encode("hi");

        // The long episode fills its row first; the short one keeps decoding while the long row rides along at full length.
        IReadOnlyList<GenerationResult> results = generator.Generate(
            [new GenerationRequest(1, longPrompt), new GenerationRequest(2, shortPrompt)], settings);
        Assert.All(results, r => Assert.Equal(GenerationStopReason.ContextFull, r.StopReason));
        Assert.Equal(40 - longPrompt.Length, results[0].TokenIds.Length); // the last sampled token needs no room
        Assert.Equal(40 - shortPrompt.Length, results[1].TokenIds.Length);

        // The short episode alone generates the same tokens: riding along changed nothing.
        var alone = new Generator(onnx, tokenizer);
        Assert.Equal(results[1].TokenIds, alone.Generate([new GenerationRequest(3, shortPrompt)], settings)[0].TokenIds);

        // A prompt that no longer fits stops at once.
        int[] tooLong = [.. Enumerable.Repeat(longPrompt, 4).SelectMany(t => t)];
        Assert.Equal(GenerationStopReason.ContextFull, generator.Generate([new GenerationRequest(1, tooLong)], settings)[0].StopReason);
    }
}
