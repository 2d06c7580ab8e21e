using System.Text;
using OnnxCoEvo.Core.Tokenization;

namespace OnnxCoEvo.Tests.Tokenization;

public class BpeTrainerTests
{
    [Fact]
    public void Learns_the_most_frequent_pairs_in_order()
    {
        // Pre-tokens: "ab" x1, " ab" x2, " abc" x1 -> words ab, Ġab (x2), Ġabc.
        // Pair counts: (a,b) 4, (Ġ,a) 3, (b,c) 1. Merge a+b; then (Ġ,ab) 3, (ab,c) 1: merge Ġ+ab; then (Ġab,c) 1.
        var tokenizer = BpeTrainer.Train(["ab ab ab abc"], new BpeTrainerOptions { VocabSize = 300, MinPairFrequency = 1 });
        Assert.Equal([("a", "b"), ("Ġ", "ab"), ("Ġab", "c")], tokenizer.Merges);
        Assert.Equal(259, tokenizer.VocabSize);
        Assert.Equal(256, tokenizer.Vocab["ab"]);
        Assert.Equal([258], tokenizer.Encode(" abc"));
    }

    [Fact]
    public void Minimum_frequency_stops_training_early()
    {
        var tokenizer = BpeTrainer.Train(["ab ab ab abc"], new BpeTrainerOptions { VocabSize = 300, MinPairFrequency = 2 });
        Assert.Equal([("a", "b"), ("Ġ", "ab")], tokenizer.Merges);
    }

    [Fact]
    public void Ties_go_to_the_smaller_pair_of_ids()
    {
        // All three pairs occur once: (Ġ=32, c=99) < (a=97, b=98) < (Ġc=256, d=100) once Ġc exists.
        var tokenizer = BpeTrainer.Train(["ab cd"], new BpeTrainerOptions { VocabSize = 300, MinPairFrequency = 1 });
        Assert.Equal([("Ġ", "c"), ("a", "b"), ("Ġc", "d")], tokenizer.Merges);
    }

    [Fact]
    public void Special_tokens_come_first_and_never_take_part_in_merges()
    {
        var options = new BpeTrainerOptions { VocabSize = 300, MinPairFrequency = 1, SpecialTokens = ["<|x|>", "<|y|>"] };
        var tokenizer = BpeTrainer.Train(["ab<|x|>ab<|x|>"], options);
        Assert.Equal(0, tokenizer.TokenToId("<|x|>"));
        Assert.Equal(1, tokenizer.TokenToId("<|y|>"));
        Assert.Equal(2 + 'a', tokenizer.TokenToId("a"));
        Assert.Equal([("a", "b")], tokenizer.Merges);
        Assert.All(tokenizer.AddedTokens, t => Assert.True(t.Special));
        Assert.Equal([258, 0], tokenizer.Encode("ab<|x|>"));
    }

    [Fact]
    public void Training_is_deterministic()
    {
        var options = new BpeTrainerOptions { VocabSize = 700, SpecialTokens = ["<|end|>"] };
        string first = BpeTrainer.Train(TinyCorpus.Texts, options).ToJson();
        string second = BpeTrainer.Train(TinyCorpus.Texts.ToArray(), options).ToJson();
        Assert.Equal(first, second);
    }

    [Fact]
    public void Reaches_the_target_vocab_size_on_the_tiny_corpus()
    {
        var tokenizer = BpeTrainer.Train(TinyCorpus.Texts, new BpeTrainerOptions { VocabSize = 900 });
        Assert.Equal(900, tokenizer.VocabSize);
        Assert.Equal(900 - 256, tokenizer.Merges.Count);
        Assert.Equal(900, tokenizer.Vocab.Count);
    }

    [Fact]
    public void Rejects_impossible_options()
    {
        Assert.Throws<ArgumentException>(() => BpeTrainer.Train(["x"], new BpeTrainerOptions { VocabSize = 200 }));
        Assert.Throws<ArgumentException>(() => BpeTrainer.Train(["x"], new BpeTrainerOptions { SpecialTokens = ["<a>", "<a>"] }));
        Assert.Throws<ArgumentException>(() => BpeTrainer.Train(["x"], new BpeTrainerOptions { PrependTokenOnEncode = "<none>" }));
    }

    [Fact]
    public void Trains_a_larger_corpus_and_round_trips_it()
    {
        // About a megabyte of varied text: checks correctness at scale (no timing assertion).
        var corpus = new List<string>();
        var random = new Random(3);
        for (int copy = 0; corpus.Sum(t => t.Length) < 1_000_000; copy++)
        {
            foreach (string text in TinyCorpus.Texts)
            {
                var sb = new StringBuilder(text);
                sb.Append(' ').Append(random.Next(1000, 99999)).Append(" item ").Append(copy);
                corpus.Add(sb.ToString());
            }
        }
        var tokenizer = BpeTrainer.Train(corpus, new BpeTrainerOptions { VocabSize = 4000, SpecialTokens = ["<|end|>"] });
        Assert.True(tokenizer.VocabSize > 1500);
        foreach (string text in corpus.Take(50)) Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
        var reloaded = BpeTokenizer.FromJson(tokenizer.ToJson());
        Assert.Equal(tokenizer.Encode(corpus[^1]), reloaded.Encode(corpus[^1]));
    }
}
