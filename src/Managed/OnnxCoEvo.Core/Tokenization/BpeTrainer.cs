using System.Runtime.InteropServices;
using System.Text;

namespace OnnxCoEvo.Core.Tokenization;

/// <summary>What <see cref="BpeTrainer"/> builds.</summary>
public sealed record BpeTrainerOptions
{
    /// <summary>Target size including the special tokens and the 256 byte symbols; training stops earlier when
    /// no pair occurs at least <see cref="MinPairFrequency"/> times.</summary>
    public int VocabSize { get; init; } = 1024;

    /// <summary>Special tokens, given ids 0..n-1 in this order (they are also in the vocabulary, as Hugging Face's trainer does).</summary>
    public IReadOnlyList<string> SpecialTokens { get; init; } = [];

    /// <summary>Pre-tokenizer regex (Split, Isolated); merges never cross its pieces.</summary>
    public string PreTokenizerPattern { get; init; } = PreTokenizerPatterns.Llama3;

    /// <summary>Pairs seen fewer times than this are never merged.</summary>
    public int MinPairFrequency { get; init; } = 2;

    /// <summary>A special token the post-processor puts before every encoded sequence (Llama-3's BOS), or null.</summary>
    public string? PrependTokenOnEncode { get; init; }

    /// <summary>Special token names and chat template of the result.</summary>
    public TokenizerConfig Config { get; init; } = new();
}

/// <summary>
/// Trains a byte-level BPE tokenizer. Initial alphabet: all 256 byte symbols (so any text encodes). Each step merges
/// the most frequent adjacent pair within pre-tokens; ties go to the pair with the smaller (left id, right id), ids
/// growing with creation order, so the result depends only on the corpus and the options. Pair counts are updated
/// incrementally, only in the words that contain the merged pair, with a lazily refreshed max-heap.
/// </summary>
public static class BpeTrainer
{
    public static BpeTokenizer Train(IEnumerable<string> corpus, BpeTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(options);
        var specials = options.SpecialTokens;
        if (specials.Any(string.IsNullOrEmpty)) throw new ArgumentException("special tokens must be non-empty", nameof(options));
        if (specials.Distinct().Count() != specials.Count) throw new ArgumentException("special tokens must be distinct", nameof(options));
        if (options.VocabSize < specials.Count + 256)
            throw new ArgumentException($"vocab size {options.VocabSize} is below {specials.Count} special tokens + 256 byte symbols", nameof(options));

        var addedTokens = specials.Select((s, i) => new AddedToken(i, s, Special: true)).ToArray();
        var preTokenizer = new SequencePreTokenizer(
            [new RegexSplitPreTokenizer(options.PreTokenizerPattern), new ByteLevelPreTokenizer(false, true, false)]);

        var tokens = new List<string>(options.VocabSize);
        var vocab = new Dictionary<string, int>(options.VocabSize);
        foreach (string s in specials) AddToken(tokens, vocab, s);
        int firstByteId = tokens.Count;
        foreach (char c in ByteLevelAlphabet.Alphabet) AddToken(tokens, vocab, c.ToString());

        var words = CountWords(corpus, new AddedTokenMatcher(addedTokens), preTokenizer, firstByteId);
        var merges = LearnMerges(words, tokens, vocab, options.VocabSize, Math.Max(1, options.MinPairFrequency));

        PostProcessor postProcessor = new ByteLevelPostProcessor(false, true, false);
        if (options.PrependTokenOnEncode is { } bos)
        {
            int bosId = vocab.TryGetValue(bos, out int id) && id < specials.Count
                ? id
                : throw new ArgumentException($"'{bos}' to prepend is not one of the special tokens", nameof(options));
            postProcessor = new SequencePostProcessor([postProcessor, TemplatePostProcessor.PrependToken(bos, bosId)]);
        }
        var model = new BpeModel(vocab, merges, ignoreMerges: false, unknownId: null);
        return new BpeTokenizer(model, addedTokens, null, preTokenizer, postProcessor, new ByteLevelDecoder(true, true, true), options.Config);
    }

    private static void AddToken(List<string> tokens, Dictionary<string, int> vocab, string token)
    {
        if (!vocab.TryAdd(token, tokens.Count)) throw new ArgumentException($"token '{token}' would appear twice in the vocabulary");
        tokens.Add(token);
    }

    /// <summary>A distinct pre-token: its current symbols and how often it occurs in the corpus.</summary>
    private sealed class Word(int[] symbols, long count)
    {
        public int[] Symbols = symbols;
        public int Length = symbols.Length;
        public readonly long Count = count;
        public int Stamp = -1;
    }

    private static List<Word> CountWords(IEnumerable<string> corpus, AddedTokenMatcher specials, PreTokenizer preTokenizer, int firstByteId)
    {
        var counts = new Dictionary<string, long>();
        var bySpan = counts.GetAlternateLookup<ReadOnlySpan<char>>();
        var segments = new List<TextSegment>();
        var pieces = new List<ReadOnlyMemory<char>>();
        foreach (string text in corpus)
        {
            segments.Clear();
            specials.Split(text.AsMemory(), segments); // special tokens are never part of a merge
            foreach (var segment in segments)
            {
                if (segment.Token is not null) continue;
                pieces.Clear();
                preTokenizer.Split(segment.Text, pieces);
                foreach (var piece in pieces) CollectionsMarshal.GetValueRefOrAddDefault(bySpan, piece.Span, out _)++;
            }
        }
        var words = new List<Word>(counts.Count);
        foreach (var (piece, count) in counts) // insertion order: deterministic for a given corpus
        {
            byte[] bytes = Encoding.UTF8.GetBytes(piece);
            words.Add(new Word(Array.ConvertAll(bytes, b => firstByteId + b), count));
        }
        return words;
    }

    // Max-heap order: higher count first, then the smaller pair key.
    private sealed class PairOrder : IComparer<(long Count, long Pair)>
    {
        public static readonly PairOrder Instance = new();

        public int Compare((long Count, long Pair) x, (long Count, long Pair) y) =>
            x.Count != y.Count ? y.Count.CompareTo(x.Count) : x.Pair.CompareTo(y.Pair);
    }

    private static List<BpeMerge> LearnMerges(
        List<Word> words, List<string> tokens, Dictionary<string, int> vocab, int vocabSize, int minFrequency)
    {
        var pairCounts = new Dictionary<long, long>();
        var wordsWithPair = new Dictionary<long, List<int>>();
        for (int w = 0; w < words.Count; w++)
        {
            var word = words[w];
            for (int i = 0; i + 1 < word.Length; i++)
            {
                long pair = BpeModel.PairKey(word.Symbols[i], word.Symbols[i + 1]);
                CollectionsMarshal.GetValueRefOrAddDefault(pairCounts, pair, out _) += word.Count;
                AddWord(wordsWithPair, pair, w);
            }
        }
        var queue = new PriorityQueue<long, (long Count, long Pair)>(PairOrder.Instance);
        foreach (var (pair, count) in pairCounts)
            if (count >= minFrequency) queue.Enqueue(pair, (count, pair));

        var merges = new List<BpeMerge>();
        var touched = new HashSet<long>();
        int stamp = 0;
        while (tokens.Count < vocabSize && queue.TryDequeue(out long best, out var queued))
        {
            long current = pairCounts[best];
            if (current != queued.Count)
            {
                // Counts only fall after a pair is queued (or rise for pairs re-queued below): refresh and retry.
                if (current >= minFrequency) queue.Enqueue(best, (current, best));
                continue;
            }
            int left = (int)(best >> 32), right = (int)(uint)best;
            string mergedToken = tokens[left] + tokens[right];
            // Two merge paths can spell the same string ("ab"+"c", "a"+"bc"): they share one id.
            if (!vocab.TryGetValue(mergedToken, out int merged))
            {
                merged = tokens.Count;
                AddToken(tokens, vocab, mergedToken);
            }
            merges.Add(new BpeMerge(left, right, merged));

            stamp++;
            touched.Clear();
            foreach (int w in wordsWithPair[best])
            {
                var word = words[w];
                if (word.Stamp == stamp) continue;
                word.Stamp = stamp;
                MergeInWord(word, w, left, right, merged, pairCounts, wordsWithPair, touched);
            }
            wordsWithPair.Remove(best); // every occurrence is merged now
            foreach (long pair in touched)
            {
                long count = pairCounts[pair];
                if (count >= minFrequency) queue.Enqueue(pair, (count, pair));
            }
        }
        return merges;
    }

    private static void MergeInWord(
        Word word, int wordIndex, int left, int right, int merged,
        Dictionary<long, long> pairCounts, Dictionary<long, List<int>> wordsWithPair, HashSet<long> touched)
    {
        int[] s = word.Symbols;
        int n = word.Length;
        bool present = false;
        for (int i = 0; i + 1 < n && !present; i++) present = s[i] == left && s[i + 1] == right;
        if (!present) return; // stale index entry: an earlier merge consumed the pair here

        for (int i = 0; i + 1 < n; i++)
            CollectionsMarshal.GetValueRefOrAddDefault(pairCounts, BpeModel.PairKey(s[i], s[i + 1]), out _) -= word.Count;
        int j = 0;
        for (int i = 0; i < n; j++)
        {
            if (i + 1 < n && s[i] == left && s[i + 1] == right)
            {
                s[j] = merged;
                i += 2;
            }
            else
            {
                s[j] = s[i++];
            }
        }
        word.Length = n = j;
        for (int i = 0; i + 1 < n; i++)
        {
            long pair = BpeModel.PairKey(s[i], s[i + 1]);
            CollectionsMarshal.GetValueRefOrAddDefault(pairCounts, pair, out _) += word.Count;
            if (s[i] == merged || s[i + 1] == merged)
            {
                touched.Add(pair);
                AddWord(wordsWithPair, pair, wordIndex);
            }
        }
    }

    private static void AddWord(Dictionary<long, List<int>> wordsWithPair, long pair, int word)
    {
        ref var list = ref CollectionsMarshal.GetValueRefOrAddDefault(wordsWithPair, pair, out _);
        list ??= [];
        if (list.Count == 0 || list[^1] != word) list.Add(word);
    }
}
