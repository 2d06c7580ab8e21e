using OnnxCoEvo.Core.Tokenization;
using OnnxCoEvo.Onnx.Generation;

namespace OnnxCoEvo.Tests.Onnx.Generation;

/// <summary>Stops, budgets and KV-cache reuse of <see cref="Generator"/> over a scripted fake decoder.</summary>
public sealed class GeneratorTests
{
    private static readonly BpeTokenizer Tokenizer = TinyTokenizerFactory.Create();

    // The model "writes" this text after any prompt: its tokens in order, then the end token forever.
    private const string Reply = "Thought: buy it\nAction: click[buy]\nObservation: done";
    private static readonly int[] ReplyTokens = Tokenizer.Encode(Reply);
    private static readonly int End = Tokenizer.TokenToId("<|end|>")!.Value;
    private static readonly int Marker = Tokenizer.TokenToId("<|assistant|>")!.Value;

    /// <summary>Continues the reply after the last generation-prompt marker in the sequence.</summary>
    private static ScriptedDecoderModel ReplyModel() => new(Tokenizer.VocabSize, tokens =>
    {
        int after = tokens.Count - 1 - LastIndexOf(tokens, Marker);
        return after < ReplyTokens.Length ? ReplyTokens[after] : End;
    });

    private static int LastIndexOf(IReadOnlyList<int> tokens, int id)
    {
        for (int i = tokens.Count - 1; i >= 0; i--) if (tokens[i] == id) return i;
        return -1;
    }

    private static int[] Prompt(string text) => [.. Tokenizer.Encode(text), Marker];

    [Fact]
    public void A_stop_string_cuts_the_text_before_it()
    {
        var generator = new Generator(ReplyModel(), Tokenizer);
        var settings = new GenerationSettings { MaxNewTokens = 100, StopStrings = ["\nObservation"], StopTokenIds = [End] };
        GenerationResult result = generator.Generate([new GenerationRequest(1, Prompt("task"))], settings)[0];
        Assert.Equal(GenerationStopReason.StopString, result.StopReason);
        Assert.Equal("Thought: buy it\nAction: click[buy]", result.Text);
        Assert.True(result.TokenIds.Length < ReplyTokens.Length);
        Assert.Equal(ReplyTokens[..result.TokenIds.Length], result.TokenIds);
    }

    [Fact]
    public void A_stop_token_ends_the_turn_and_adds_no_text()
    {
        var generator = new Generator(ReplyModel(), Tokenizer);
        var settings = new GenerationSettings { MaxNewTokens = 100, StopTokenIds = [End] };
        GenerationResult result = generator.Generate([new GenerationRequest(1, Prompt("task"))], settings)[0];
        Assert.Equal(GenerationStopReason.StopToken, result.StopReason);
        Assert.Equal(Reply, result.Text);
        Assert.Equal([.. ReplyTokens, End], result.TokenIds);
    }

    [Fact]
    public void The_token_budget_stops_generation()
    {
        var generator = new Generator(ReplyModel(), Tokenizer);
        GenerationResult result = generator.Generate([new GenerationRequest(1, Prompt("task"))], new GenerationSettings { MaxNewTokens = 3 })[0];
        Assert.Equal(GenerationStopReason.MaxNewTokens, result.StopReason);
        Assert.Equal(ReplyTokens[..3], result.TokenIds);
        Assert.Equal(Tokenizer.Decode(ReplyTokens[..3]), result.Text);
    }

    [Fact]
    public void A_prompt_that_fills_the_context_generates_nothing_and_a_long_turn_stops_at_the_context()
    {
        int[] prompt = Prompt("a task description");
        var tight = new ScriptedDecoderModel(Tokenizer.VocabSize, _ => ReplyTokens[0], maxSequenceLength: prompt.Length);
        GenerationResult full = new Generator(tight, Tokenizer).Generate([new GenerationRequest(1, prompt)], new GenerationSettings())[0];
        Assert.Equal(GenerationStopReason.ContextFull, full.StopReason);
        Assert.Empty(full.TokenIds);

        var roomy = new ScriptedDecoderModel(Tokenizer.VocabSize, _ => ReplyTokens[0], maxSequenceLength: prompt.Length + 4);
        GenerationResult cut = new Generator(roomy, Tokenizer).Generate([new GenerationRequest(1, prompt)], new GenerationSettings { MaxNewTokens = 50 })[0];
        Assert.Equal(GenerationStopReason.ContextFull, cut.StopReason);
        Assert.Equal(5, cut.TokenIds.Length); // 4 fed back into the context, the 5th sampled from the last logits
    }

    [Fact]
    public void A_batch_prefills_together_then_decodes_together_until_each_stops()
    {
        var model = ReplyModel();
        var generator = new Generator(model, Tokenizer);
        var settings = new GenerationSettings { MaxNewTokens = 100, StopTokenIds = [End] };
        GenerationRequest[] batch = [new(10, Prompt("first task")), new(11, Prompt("second, longer task text")), new(12, Prompt("third"))];
        IReadOnlyList<GenerationResult> results = generator.Generate(batch, settings);
        Assert.All(results, r => Assert.Equal(Reply, r.Text));
        Assert.Equal(3, model.Calls[0].Length);                       // one prefill call for all
        Assert.Equal(batch.Select(b => b.PromptTokens.Count), model.Calls[0].Select(c => c.Tokens.Length));
        Assert.All(model.Calls.Skip(1), call => Assert.All(call, step => Assert.Single(step.Tokens)));
        Assert.Equal(1 + ReplyTokens.Length, model.Calls.Count);      // prefill, then one decode call per reply token
        Assert.Equal(3, generator.LiveEpisodes);
    }

    [Fact]
    public void A_later_turn_prefills_only_what_follows_the_cached_prefix()
    {
        var model = ReplyModel();
        var generator = new Generator(model, Tokenizer);
        var settings = new GenerationSettings { MaxNewTokens = 100, StopStrings = ["\nObservation"], StopTokenIds = [End] };
        int[] first = Prompt("task");
        GenerationResult turn1 = generator.Generate([new GenerationRequest(5, first)], settings)[0];

        // The next prompt: the first, the assistant turn as the template would re-encode it, an observation, a new marker.
        int[] second = [.. first, .. Tokenizer.Encode(turn1.Text), End, .. Tokenizer.Encode("Observation: ok"), Marker];
        int[] cached = model.Sequence(0).ToArray();
        Assert.Equal(first.Length + turn1.TokenIds.Length - 1, cached.Length); // the last sampled token was never fed
        int common = Generator.CommonPrefix(cached, second);
        int calls = model.Calls.Count;
        GenerationResult turn2 = generator.Generate([new GenerationRequest(5, second)], settings)[0];
        Assert.True(common > first.Length);
        Assert.Equal(common, turn2.ReusedTokens);
        Assert.Equal(second.Length - common, model.Calls[calls][0].Tokens.Length);
        Assert.Equal(second[common..], model.Calls[calls][0].Tokens);
        Assert.Equal(turn1.Text, turn2.Text);
        Assert.Equal(second.Concat(turn2.TokenIds[..^1]), model.Sequence(0)); // the cache holds the new prompt and what was fed after it
    }

    [Fact]
    public void Without_a_common_prefix_or_with_reuse_off_the_whole_prompt_is_encoded_again()
    {
        var model = ReplyModel();
        var generator = new Generator(model, Tokenizer);
        var settings = new GenerationSettings { MaxNewTokens = 4 };
        generator.Generate([new GenerationRequest(1, Prompt("task"))], settings);
        int[] other = Prompt("something else entirely");
        int calls = model.Calls.Count;
        GenerationResult fresh = generator.Generate([new GenerationRequest(1, other)], settings)[0];
        Assert.Equal(0, fresh.ReusedTokens);
        Assert.Equal(other, model.Calls[calls][0].Tokens);

        generator.ReuseKvCache = false;
        int[] extended = [.. other, .. Tokenizer.Encode(" more"), Marker];
        calls = model.Calls.Count;
        GenerationResult reencoded = generator.Generate([new GenerationRequest(1, extended)], settings)[0];
        Assert.Equal(0, reencoded.ReusedTokens);
        Assert.Equal(extended, model.Calls[calls][0].Tokens);
        Assert.Equal(fresh.TokenIds, reencoded.TokenIds);
    }

    [Fact]
    public void The_same_prompt_again_refeeds_only_its_last_token()
    {
        var model = ReplyModel();
        var generator = new Generator(model, Tokenizer);
        int[] prompt = Prompt("task");
        var settings = new GenerationSettings { MaxNewTokens = 1 };
        generator.Generate([new GenerationRequest(1, prompt)], settings);
        int calls = model.Calls.Count;
        GenerationResult again = generator.Generate([new GenerationRequest(1, prompt)], settings)[0];
        Assert.Equal(prompt.Length - 1, again.ReusedTokens);
        Assert.Equal([prompt[^1]], model.Calls[calls][0].Tokens);
    }

    [Fact]
    public void Ending_an_episode_releases_its_slot_for_the_next_one()
    {
        var model = ReplyModel();
        var generator = new Generator(model, Tokenizer);
        var settings = new GenerationSettings { MaxNewTokens = 2 };
        generator.Generate([new GenerationRequest(1, Prompt("a")), new GenerationRequest(2, Prompt("b"))], settings);
        generator.EndEpisode(1);
        generator.EndEpisode(99); // unknown: ignored
        Assert.Equal([0], model.Released);
        Assert.Equal(1, generator.LiveEpisodes);
        int calls = model.Calls.Count;
        generator.Generate([new GenerationRequest(3, Prompt("c"))], settings);
        Assert.Equal(0, model.Calls[calls][0].Slot); // episode 3 got the freed slot
    }

    [Fact]
    public void Sampling_with_the_same_seed_gives_the_same_text_per_episode_whatever_the_batch()
    {
        // A model with a flat distribution: the text is all sampler.
        var flat = new FlatDecoderModel(Tokenizer.VocabSize);
        var settings = new GenerationSettings { MaxNewTokens = 12, Sampling = new SamplingOptions { Temperature = 1, TopK = 50 } };
        int[] prompt = Prompt("task");
        string Alone(ulong seed) => new Generator(flat, Tokenizer).Generate([new GenerationRequest(1, prompt, seed)], settings)[0].Text;
        IReadOnlyList<GenerationResult> batch = new Generator(flat, Tokenizer).Generate(
            [new GenerationRequest(1, prompt, 7), new GenerationRequest(2, prompt, 8)], settings);
        Assert.Equal(Alone(7), batch[0].Text);
        Assert.Equal(Alone(8), batch[1].Text);
        Assert.NotEqual(batch[0].Text, batch[1].Text);
    }

    [Fact]
    public void Statistics_count_prefill_reuse_and_generated_tokens()
    {
        var generator = new Generator(ReplyModel(), Tokenizer);
        var settings = new GenerationSettings { MaxNewTokens = 3 };
        int[] prompt = Prompt("task");
        generator.Generate([new GenerationRequest(1, prompt)], settings);
        generator.Generate([new GenerationRequest(1, [.. prompt, .. Tokenizer.Encode(" next"), Marker])], settings);
        GeneratorStatistics stats = generator.Statistics;
        Assert.Equal(2, stats.Calls);
        Assert.Equal(6, stats.GeneratedTokens);
        Assert.Equal(2 * prompt.Length + Tokenizer.Encode(" next").Length + 1, stats.PromptTokens);
        Assert.Equal(stats.PromptTokens, stats.PrefillTokens + stats.ReusedTokens);
        Assert.True(stats.ReusedTokens >= prompt.Length);
        generator.ResetStatistics();
        Assert.Equal(0, generator.Statistics.PromptTokens);
    }

    [Fact]
    public void Bad_requests_are_refused()
    {
        var generator = new Generator(ReplyModel(), Tokenizer);
        Assert.Throws<ArgumentException>(() => generator.Generate([new GenerationRequest(1, [])], new GenerationSettings()));
        Assert.Throws<ArgumentException>(() => generator.Generate([new GenerationRequest(1, [1]), new GenerationRequest(1, [2])], new GenerationSettings()));
        Assert.Throws<ArgumentException>(() => generator.Generate([new GenerationRequest(1, [1])], new GenerationSettings { MaxNewTokens = 0 }));
        Assert.Throws<ArgumentException>(() => generator.Generate([new GenerationRequest(1, [1])], new GenerationSettings { StopStrings = [""] }));
    }

    /// <summary>Equal logits for every token.</summary>
    private sealed class FlatDecoderModel(int vocabSize) : IDecoderModel
    {
        private readonly Dictionary<int, int> _lengths = [];
        public int VocabSize => vocabSize;
        public int MaxSequenceLength => 4096;
        public int CachedLength(int slot) => _lengths.GetValueOrDefault(slot);
        public void Truncate(int slot, int length) => _lengths[slot] = length;
        public void Release(int slot) => _lengths.Remove(slot);

        public void Forward(IReadOnlyList<DecoderStep> steps, Span<float> logits)
        {
            for (int i = 0; i < steps.Count; i++)
                _lengths[steps[i].Slot] = CachedLength(steps[i].Slot) + steps[i].Tokens.Length;
            logits[..(steps.Count * vocabSize)].Fill(0.5f);
        }

        public void Dispose() { }
    }
}
