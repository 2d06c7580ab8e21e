using OnnxCoEvo.Agents.Protocol;
using OnnxCoEvo.Core.Tokenization;
using OnnxCoEvo.Onnx.Generation;

namespace OnnxCoEvo.Tests.Onnx.Generation;

/// <summary><see cref="Generator"/> with an <see cref="IDecodeConstraint"/>, and <see cref="DecodeConstraintMask"/> on its own.</summary>
public sealed class DecodeConstraintTests
{
    private static readonly BpeTokenizer Tokenizer = TinyTokenizerFactory.Create();
    private static readonly int End = Tokenizer.TokenToId("<|end|>")!.Value;
    private static readonly int Marker = Tokenizer.TokenToId("<|assistant|>")!.Value;

    // The model means to click the right product but garbles its id ("X9" where the page says "39").
    private const string Garbled = "Thought: the second one fits\nAction: click[B0AB12CDX9]";

    private static readonly ActionChoices Page = new(["click[B0AB12CD39]", "click[B0ZZ77QQ01]", "click[Buy Now]"], [], "]", StringComparison.Ordinal);

    private static ScriptedDecoderModel Writes(string text)
    {
        int[] script = Tokenizer.Encode(text);
        return new ScriptedDecoderModel(Tokenizer.VocabSize, tokens =>
        {
            int marker = tokens.Count - 1;
            while (marker >= 0 && tokens[marker] != Marker) marker--;
            int after = tokens.Count - 1 - marker;
            return after < script.Length ? script[after] : End;
        });
    }

    private static GenerationResult Generate(ScriptedDecoderModel model, IDecodeConstraint? constraint) =>
        new Generator(model, Tokenizer).Generate([new GenerationRequest(1, [.. Tokenizer.Encode("a page"), Marker], 0, constraint)],
            new GenerationSettings { MaxNewTokens = 80, StopTokenIds = [End] })[0];

    [Fact]
    public void A_garbled_click_becomes_the_clickable_it_starts_like_and_the_thought_is_untouched()
    {
        GenerationResult free = Generate(Writes(Garbled), constraint: null);
        Assert.Equal(Garbled, free.Text); // the control: without the constraint the model's own text comes out

        GenerationResult constrained = Generate(Writes(Garbled), new ReActActionConstraint(Page));
        Assert.Equal("Thought: the second one fits\nAction: click[B0AB12CD39]", constrained.Text);
        Assert.Equal(GenerationStopReason.ConstraintComplete, constrained.StopReason);
        Assert.DoesNotContain(End, constrained.TokenIds); // the turn ends at the closing bracket, no end token sampled
    }

    [Fact]
    public void An_action_outside_the_grammar_is_steered_into_it_from_its_first_token()
    {
        // "search" is not offered on this page: the mask keeps only the clicks from the first action token on.
        GenerationResult result = Generate(Writes("Thought: go\nAction: search[red mug]"), new ReActActionConstraint(Page));
        Assert.StartsWith("Thought: go\nAction: click[", result.Text, StringComparison.Ordinal);
        Assert.Contains(result.Text["Thought: go\nAction: ".Length..], Page.Exact);
    }

    [Fact]
    public void An_open_action_is_free_inside_its_brackets_and_ends_the_turn_at_the_bracket()
    {
        var searchPage = new ActionChoices([], ["search["], "]", StringComparison.Ordinal);
        GenerationResult result = Generate(Writes("Thought: look\nAction: search[red mug]\nmore text"), new ReActActionConstraint(searchPage));
        Assert.Equal("Thought: look\nAction: search[red mug]", result.Text.TrimEnd('\n'));
        Assert.Equal(GenerationStopReason.ConstraintComplete, result.StopReason);
    }

    [Fact]
    public void The_mask_keeps_only_prefixes_of_a_continuation_and_the_stop_tokens_where_the_turn_may_end()
    {
        var mask = new DecodeConstraintMask(Tokenizer, Tokenizer.VocabSize);
        var logits = new float[Tokenizer.VocabSize];
        Assert.True(mask.Apply(logits, ["39]", ""], StringComparison.Ordinal, [End]));
        for (int id = 0; id < logits.Length; id++)
        {
            bool allowed = !float.IsNegativeInfinity(logits[id]);
            string? text = mask.TokenText(id);
            bool expected = id == End || (text is not null && "39]".StartsWith(text, StringComparison.Ordinal));
            Assert.True(expected == allowed, $"token {id} '{text}': allowed {allowed}, expected {expected}");
        }
        Assert.True(float.IsNegativeInfinity(logits[Tokenizer.TokenToId("<|user|>")!.Value])); // special tokens never fit an action

        // Case-folded comparison: "b0" on the page, "B0" typed.
        var folded = new float[Tokenizer.VocabSize];
        Assert.True(mask.Apply(folded, ["b0ab]"], StringComparison.OrdinalIgnoreCase, []));
        Assert.False(float.IsNegativeInfinity(folded[Tokenizer.Encode("B")[0]]));
    }

    [Fact]
    public void A_continuation_no_token_can_start_leaves_the_row_alone_and_generation_goes_on_free()
    {
        var mask = new DecodeConstraintMask(Tokenizer, Tokenizer.VocabSize);
        var logits = Enumerable.Range(0, Tokenizer.VocabSize).Select(i => (float)i).ToArray();
        // A CJK character is several byte-level tokens, none of which decodes to a character alone.
        Assert.False(mask.Apply(logits, ["\u4e00"], StringComparison.Ordinal, []));
        Assert.Equal(Enumerable.Range(0, Tokenizer.VocabSize).Select(i => (float)i), logits);

        GenerationResult result = Generate(Writes("Thought: t\nAction: go"), new UnwritableAction());
        Assert.Equal("Thought: t\nAction: go", result.Text);
        Assert.Equal(GenerationStopReason.StopToken, result.StopReason);
    }

    /// <summary>After "Action:" only a character no token of the tiny vocabulary writes alone.</summary>
    private sealed class UnwritableAction : IDecodeConstraint
    {
        public StringComparison Comparison => StringComparison.Ordinal;

        public IReadOnlyList<string>? Continuations(string text) => text.EndsWith("Action:", StringComparison.Ordinal) ? ["\u4e00"] : null;
    }
}
