using OnnxCoEvo.Core.Tokenization;

namespace OnnxCoEvo.Tests.Tokenization;

/// <summary>
/// A small byte-level BPE tokenizer.json written by hand, with merges whose effect is worked out in the tests.
/// Vocabulary ids are positions in <see cref="Vocab"/>.
/// </summary>
internal static class HandBuiltTokenizer
{
    public static readonly string[] Vocab =
    [
        "h", "e", "l", "o", "w", "r", "d", "Ġ",            // 0..7
        "lo", "he", "llo", "hello", "Ġw", "or", "Ġwor",     // 8..14
        "ld", "Ġhe", "a", "aa", "Ġworld", "1", "2", "12",   // 15..22
    ];

    /// <summary>Merge rules in rank order, old "a b" form.</summary>
    public static readonly string[] Merges =
    [
        "l o",     // r0 -> lo
        "h e",     // r1 -> he
        "l lo",    // r2 -> llo
        "he llo",  // r3 -> hello
        "Ġ w",     // r4 -> Ġw
        "o r",     // r5 -> or
        "Ġw or",   // r6 -> Ġwor
        "l d",     // r7 -> ld
        "Ġ he",    // r8 -> Ġhe
        "a a",     // r9 -> aa
        "1 2",     // r10 -> 12
    ];

    /// <summary>ByteLevel + TemplateProcessing putting "&lt;s&gt;" (id 40, to be added) before each sequence, as Llama-3 does.</summary>
    public const string BosPostProcessor = """
        {"type": "Sequence", "processors": [
          {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
          {"type": "TemplateProcessing",
           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
           "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                    {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
           "special_tokens": {"<s>": {"id": "<s>", "ids": [40], "tokens": ["<s>"]}}}
        ]}
        """;

    public const string Gpt2PreTokenizer = """{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}""";

    public static int Id(string token) => Array.IndexOf(Vocab, token);

    public static string Json(
        bool ignoreMerges = false,
        bool newMergeForm = false,
        string addedTokens = "[]",
        string preTokenizer = Gpt2PreTokenizer,
        string postProcessor = "null",
        string normalizer = "null",
        string modelType = "BPE")
    {
        string vocab = string.Join(", ", Vocab.Select((t, i) => $"\"{t}\": {i}"));
        string merges = newMergeForm
            ? string.Join(", ", Merges.Select(m => m.Split(' ')).Select(p => $"[\"{p[0]}\", \"{p[1]}\"]"))
            : string.Join(", ", Merges.Select(m => $"\"{m}\""));
        return $$"""
        {
          "version": "1.0",
          "truncation": null,
          "padding": null,
          "added_tokens": {{addedTokens}},
          "normalizer": {{normalizer}},
          "pre_tokenizer": {{preTokenizer}},
          "post_processor": {{postProcessor}},
          "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
          "model": {
            "type": "{{modelType}}",
            "dropout": null,
            "unk_token": null,
            "continuing_subword_prefix": null,
            "end_of_word_suffix": null,
            "fuse_unk": false,
            "byte_fallback": false,
            "ignore_merges": {{(ignoreMerges ? "true" : "false")}},
            "vocab": {{{vocab}}},
            "merges": [{{merges}}]
          }
        }
        """;
    }

    public static BpeTokenizer Load(
        bool ignoreMerges = false,
        bool newMergeForm = false,
        string addedTokens = "[]",
        string preTokenizer = Gpt2PreTokenizer,
        string postProcessor = "null",
        string normalizer = "null") =>
        BpeTokenizer.FromJson(Json(ignoreMerges, newMergeForm, addedTokens, preTokenizer, postProcessor, normalizer));
}
