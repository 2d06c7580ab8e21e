using OnnxCoEvo.Core.Tokenization;
using static OnnxCoEvo.Tests.Tokenization.HandBuiltTokenizer;

namespace OnnxCoEvo.Tests.Tokenization;

public class BpeEncodingTests
{
    [Fact]
    public void Applies_merges_lowest_rank_first()
    {
        var tokenizer = Load();
        // Pre-tokens "hello", " hello", " world" (GPT-2 regex), byte-mapped to "hello", "Ġhello", "Ġworld".
        // hello:  h e l l o -> (l o r0) h e l lo -> (h e r1) he l lo -> (l lo r2) he llo -> (he llo r3) hello
        // Ġhello: same merges give Ġ hello; "Ġ he" (r8) would need he next to Ġ when r8 is the lowest rank left, but
        //         r2 and r3 come first and consume "he", so Ġ stays alone.
        // Ġworld: (Ġ w r4) Ġw o r l d -> (o r r5) Ġw or l d -> (Ġw or r6) Ġwor l d -> (l d r7) Ġwor ld
        Assert.Equal([Id("hello"), Id("Ġ"), Id("hello"), Id("Ġwor"), Id("ld")], tokenizer.Encode("hello hello world"));
        Assert.Equal(["hello", "Ġ", "hello", "Ġwor", "ld"], tokenizer.EncodeToTokens("hello hello world"));
    }

    [Fact]
    public void Equal_ranks_merge_leftmost_first()
    {
        var tokenizer = Load();
        Assert.Equal([Id("aa"), Id("a")], tokenizer.Encode("aaa"));
        Assert.Equal([Id("aa"), Id("aa")], tokenizer.Encode("aaaa"));
        Assert.Equal([Id("aa"), Id("aa"), Id("a")], tokenizer.Encode("aaaaa"));
    }

    [Fact]
    public void Old_and_new_merge_forms_load_the_same()
    {
        var oldForm = Load(newMergeForm: false);
        var newForm = Load(newMergeForm: true);
        Assert.Equal(oldForm.Merges, newForm.Merges);
        Assert.Equal(oldForm.Encode("hello world aaa"), newForm.Encode("hello world aaa"));
    }

    [Fact]
    public void Ignore_merges_emits_whole_pre_tokens_found_in_the_vocabulary()
    {
        // "Ġworld" is in the vocabulary but no merge builds it.
        Assert.Equal([Id("hello"), Id("Ġworld")], Load(ignoreMerges: true).Encode("hello world"));
        Assert.Equal([Id("hello"), Id("Ġwor"), Id("ld")], Load(ignoreMerges: false).Encode("hello world"));
        Assert.True(Load(ignoreMerges: true).IgnoreMerges);
    }

    [Fact]
    public void Bytes_missing_from_the_vocabulary_are_dropped_without_an_unk_token()
    {
        Assert.Equal([Id("hello")], Load().Encode("hello?"));
    }

    private const string AddedTokens = """
    [
      {"id": 30, "content": "<|end|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
      {"id": 31, "content": "<mask>", "single_word": false, "lstrip": true, "rstrip": false, "normalized": false, "special": true},
      {"id": 32, "content": "hell", "single_word": true, "lstrip": false, "rstrip": false, "normalized": true, "special": false},
      {"id": 33, "content": "<|end|>ll", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
      {"id": 34, "content": "<r>", "single_word": false, "lstrip": false, "rstrip": true, "normalized": false, "special": true}
    ]
    """;

    [Fact]
    public void Splits_on_added_tokens_before_bpe()
    {
        var tokenizer = Load(addedTokens: AddedTokens);
        // "world" without a leading space: w (o r r5) l d -> w or (l d r7) -> w or ld.
        Assert.Equal([Id("hello"), 30, Id("w"), Id("or"), Id("ld")], tokenizer.Encode("hello<|end|>world"));
        Assert.Equal(35, tokenizer.VocabSize);
        Assert.Equal("<|end|>", tokenizer.IdToToken(30));
        Assert.Equal(30, tokenizer.TokenToId("<|end|>"));
        Assert.True(tokenizer.IsSpecialToken(30));
        Assert.False(tokenizer.IsSpecialToken(32));
    }

    [Fact]
    public void Takes_the_longest_added_token_at_a_position()
    {
        var tokenizer = Load(addedTokens: AddedTokens);
        Assert.Equal([33, Id("o")], tokenizer.Encode("<|end|>llo"));
        Assert.Equal([30, Id("hello")], tokenizer.Encode("<|end|>hello"));
    }

    [Fact]
    public void Lstrip_and_rstrip_swallow_whitespace_beside_the_token()
    {
        var tokenizer = Load(addedTokens: AddedTokens);
        Assert.Equal([Id("hello"), 31], tokenizer.Encode("hello  <mask>"));    // without lstrip: hello Ġ <mask>
        Assert.Equal([34, Id("hello")], tokenizer.Encode("<r>  hello"));       // without rstrip: <r> Ġ hello
        Assert.Equal([30, Id("Ġ"), Id("hello")], tokenizer.Encode("<|end|> hello"));
    }

    [Fact]
    public void Single_word_tokens_match_only_where_no_word_character_touches_them()
    {
        var tokenizer = Load(addedTokens: AddedTokens);
        Assert.Equal([32, Id("Ġ"), Id("hello")], tokenizer.Encode("hell hello"));
        Assert.Equal([Id("hello")], tokenizer.Encode("hello"));
    }

    [Fact]
    public void Special_tokens_can_be_encoded_as_plain_text()
    {
        var tokenizer = TinyTokenizerFactory.Create();
        int end = tokenizer.TokenToId("<|end|>")!.Value;
        Assert.Equal([end], tokenizer.Encode("<|end|>"));
        int[] asText = tokenizer.Encode("<|end|>", specialTokensAsText: true);
        Assert.DoesNotContain(end, asText);
        Assert.True(asText.Length > 1);
        Assert.Equal("<|end|>", tokenizer.Decode(asText));
    }

    [Fact]
    public void Template_post_processor_prepends_bos_only_when_asked()
    {
        var tokenizer = Load(
            addedTokens: """[{"id": 40, "content": "<s>", "special": true, "normalized": false}]""",
            postProcessor: HandBuiltTokenizer.BosPostProcessor);
        Assert.Equal([40, Id("hello")], tokenizer.Encode("hello", addSpecialTokens: true));
        Assert.Equal([Id("hello")], tokenizer.Encode("hello"));
    }

    [Fact]
    public void Digits_pre_tokenizer_isolates_each_digit()
    {
        const string smolStyle = """
        {"type": "Sequence", "pretokenizers": [
          {"type": "Digits", "individual_digits": true},
          {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}
        ]}
        """;
        Assert.Equal([Id("12")], Load().Encode("12"));
        Assert.Equal([Id("1"), Id("2")], Load(preTokenizer: smolStyle).Encode("12"));
        Assert.Equal([Id("he"), Id("1"), Id("2"), Id("llo")], Load(preTokenizer: smolStyle).Encode("he12llo"));
    }

    [Fact]
    public void Byte_level_prefix_space_applies_to_text_not_starting_with_a_space()
    {
        const string prefixed = """{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}""";
        Assert.Equal([Id("Ġ"), Id("hello")], Load(preTokenizer: prefixed).Encode("hello"));
        Assert.Equal([Id("Ġ"), Id("hello")], Load(preTokenizer: prefixed).Encode(" hello"));
    }

    [Fact]
    public void Split_then_byte_level_sequence_matches_llama3_layout()
    {
        string llama3 = $$"""
        {"type": "Sequence", "pretokenizers": [
          {"type": "Split", "pattern": {"Regex": {{System.Text.Json.JsonSerializer.Serialize(PreTokenizerPatterns.Llama3)}}}, "behavior": "Isolated", "invert": false},
          {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}
        ]}
        """;
        var tokenizer = Load(preTokenizer: llama3);
        Assert.Equal([Id("hello"), Id("Ġwor"), Id("ld")], tokenizer.Encode("hello world"));
        Assert.Equal([Id("12")], tokenizer.Encode("12"));
    }

    [Fact]
    public void Nfc_normalizer_loads_and_leaves_ascii_unchanged()
    {
        var tokenizer = Load(normalizer: """{"type": "Sequence", "normalizers": [{"type": "NFC"}]}""");
        Assert.IsType<SequenceNormalizer>(tokenizer.Normalizer);
        Assert.Equal([Id("hello")], tokenizer.Encode("hello"));
    }

    [Fact]
    public void Nfc_normalizer_composes_decomposed_input_as_qwen2_expects()
    {
        // Needs ICU: with invariant globalization .NET's Normalize is a no-op and this would silently differ from HF.
        Assert.True(NfcNormalizer.IsEffective);
        var tokenizer = Load(normalizer: """{"type": "NFC"}""");
        Assert.Equal(tokenizer.Encode("caf\u00e9"), tokenizer.Encode("cafe\u0301"));
        Assert.NotEqual(Load().Encode("caf\u00e9"), Load().Encode("cafe\u0301"));
    }

    [Fact]
    public void Long_pre_tokens_encode_the_same_as_short_ones()
    {
        // Longer than the stack buffers and the cache limit: exercises the pooled path.
        var tokenizer = Load();
        string longWord = string.Concat(Enumerable.Repeat("hello", 200));
        int[] ids = tokenizer.Encode(longWord);
        Assert.Equal(longWord, tokenizer.Decode(ids));
        Assert.Equal(Load().Encode("aaaa"), tokenizer.Encode("aaaa"));
    }
}
