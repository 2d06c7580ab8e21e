using System.Buffers;
using System.Collections.Concurrent;
using System.Text;

namespace OnnxCoEvo.Core.Tokenization;

/// <summary>One merge rule: symbols <see cref="Left"/> and <see cref="Right"/> join into <see cref="Merged"/>.</summary>
internal readonly record struct BpeMerge(int Left, int Right, int Merged);

/// <summary>
/// The BPE model of a byte-level tokenizer: vocabulary, merge ranks and the merge algorithm, plus a bounded cache
/// of encoded pre-tokens (agent transcripts repeat the same words constantly). Thread-safe for encoding.
/// </summary>
internal sealed class BpeModel
{
    private const int CacheCapacity = 100_000;
    private const int MaxCachedPieceLength = 64;
    private const int StackLimit = 256;

    private readonly Dictionary<string, int> _tokenToId;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _tokenBySpan;
    private readonly string?[] _idToToken;
    private readonly Dictionary<long, (int Rank, int Merged)> _mergeByPair;
    private readonly int[] _byteToId = new int[256];
    private readonly ConcurrentDictionary<string, int[]> _cache = new();
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _cacheBySpan;
    private int _cacheCount;

    /// <param name="vocab">token (in the byte-level alphabet) to id; ids unique and non-negative.</param>
    /// <param name="merges">merge rules in rank order, all ids from <paramref name="vocab"/>.</param>
    public BpeModel(Dictionary<string, int> vocab, IReadOnlyList<BpeMerge> merges, bool ignoreMerges, int? unknownId)
    {
        _tokenToId = vocab;
        _tokenBySpan = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _cacheBySpan = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
        int maxId = vocab.Count == 0 ? -1 : vocab.Values.Max();
        _idToToken = new string?[maxId + 1];
        foreach (var (token, id) in vocab) _idToToken[id] = token;
        Merges = merges;
        _mergeByPair = new Dictionary<long, (int, int)>(merges.Count);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var m = merges[rank];
            _mergeByPair[PairKey(m.Left, m.Right)] = (rank, m.Merged); // a repeated pair takes its last rank, as in Hugging Face
        }
        for (int b = 0; b < 256; b++)
            _byteToId[b] = vocab.TryGetValue(ByteLevelAlphabet.ByteToChar((byte)b).ToString(), out int id) ? id : -1;
        IgnoreMerges = ignoreMerges;
        UnknownId = unknownId;
    }

    public IReadOnlyDictionary<string, int> Vocab => _tokenToId;
    public IReadOnlyList<BpeMerge> Merges { get; }

    /// <summary>Merges as token pairs, built on first use (only saving and inspection need them).</summary>
    public IReadOnlyList<(string Left, string Right)> MergeTokens =>
        _mergeTokens ??= Merges.Select(m => (GetToken(m.Left)!, GetToken(m.Right)!)).ToArray();

    private (string, string)[]? _mergeTokens;
    public bool IgnoreMerges { get; }
    public int? UnknownId { get; }

    /// <summary>One more than the largest vocabulary id.</summary>
    public int IdLimit => _idToToken.Length;

    public bool TryGetId(ReadOnlySpan<char> token, out int id) => _tokenBySpan.TryGetValue(token, out id);

    public string? GetToken(int id) => (uint)id < (uint)_idToToken.Length ? _idToToken[id] : null;

    public static long PairKey(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>Encodes one pre-token (plain text, not yet byte-mapped) and appends its ids.</summary>
    public void EncodePiece(ReadOnlySpan<char> piece, List<int> output)
    {
        if (piece.IsEmpty) return;
        if (_cacheBySpan.TryGetValue(piece, out int[]? cached))
        {
            output.AddRange(cached);
            return;
        }
        int start = output.Count;
        EncodeUncached(piece, output);
        if (piece.Length <= MaxCachedPieceLength && Volatile.Read(ref _cacheCount) < CacheCapacity
            && _cache.TryAdd(piece.ToString(), output.GetRange(start, output.Count - start).ToArray()))
        {
            Interlocked.Increment(ref _cacheCount);
        }
    }

    private void EncodeUncached(ReadOnlySpan<char> piece, List<int> output)
    {
        int byteCount = Encoding.UTF8.GetByteCount(piece);
        byte[]? rentedBytes = byteCount > StackLimit ? ArrayPool<byte>.Shared.Rent(byteCount) : null;
        int[]? rentedIds = byteCount > StackLimit ? ArrayPool<int>.Shared.Rent(byteCount) : null;
        try
        {
            Span<byte> bytes = rentedBytes is null ? stackalloc byte[byteCount] : rentedBytes.AsSpan(0, byteCount);
            Encoding.UTF8.GetBytes(piece, bytes);

            // Llama-3's ignore_merges: a pre-token that is itself in the vocabulary is emitted whole.
            if (IgnoreMerges && TryWholeToken(bytes, out int wholeId))
            {
                output.Add(wholeId);
                return;
            }

            Span<int> ids = rentedIds is null ? stackalloc int[byteCount] : rentedIds.AsSpan(0, byteCount);
            int n = 0;
            foreach (byte b in bytes)
            {
                int id = _byteToId[b];
                if (id >= 0) ids[n++] = id;
                else if (UnknownId is int unk) ids[n++] = unk; // bytes missing from the vocabulary are dropped without an unk token, as in Hugging Face
            }
            ApplyMerges(ids[..n], output);
        }
        finally
        {
            if (rentedBytes is not null) ArrayPool<byte>.Shared.Return(rentedBytes);
            if (rentedIds is not null) ArrayPool<int>.Shared.Return(rentedIds);
        }
    }

    private bool TryWholeToken(ReadOnlySpan<byte> bytes, out int id)
    {
        char[]? rented = bytes.Length > StackLimit ? ArrayPool<char>.Shared.Rent(bytes.Length) : null;
        Span<char> mapped = rented is null ? stackalloc char[bytes.Length] : rented.AsSpan(0, bytes.Length);
        for (int i = 0; i < bytes.Length; i++) mapped[i] = ByteLevelAlphabet.ByteToChar(bytes[i]);
        bool found = _tokenBySpan.TryGetValue(mapped, out id);
        if (rented is not null) ArrayPool<char>.Shared.Return(rented);
        return found;
    }

    /// <summary>
    /// Applies merges lowest rank first (leftmost first among equal ranks) over a linked list of symbols, with a
    /// binary min-heap of candidate pairs keyed (rank, position): O(n log n) instead of rescanning all pairs per merge.
    /// Stale heap entries (a side already merged away) are detected on pop and skipped.
    /// </summary>
    private void ApplyMerges(Span<int> ids, List<int> output)
    {
        int n = ids.Length;
        if (n <= 1)
        {
            if (n == 1) output.Add(ids[0]);
            return;
        }
        int heapCapacity = 3 * n; // n-1 initial pairs + at most 2 per merge
        int[]? rentedLinks = n > StackLimit ? ArrayPool<int>.Shared.Rent(2 * n) : null;
        long[]? rentedHeap = n > StackLimit ? ArrayPool<long>.Shared.Rent(heapCapacity) : null;
        try
        {
            Span<int> links = rentedLinks is null ? stackalloc int[2 * n] : rentedLinks.AsSpan(0, 2 * n);
            Span<int> next = links[..n], prev = links[n..];
            Span<long> heap = rentedHeap is null ? stackalloc long[heapCapacity] : rentedHeap.AsSpan(0, heapCapacity);
            int heapCount = 0;
            for (int i = 0; i < n; i++)
            {
                next[i] = i + 1 < n ? i + 1 : -1;
                prev[i] = i - 1;
                if (i + 1 < n && _mergeByPair.TryGetValue(PairKey(ids[i], ids[i + 1]), out var m))
                    HeapPush(heap, ref heapCount, ((long)m.Rank << 32) | (uint)i);
            }
            while (heapCount > 0)
            {
                long top = HeapPop(heap, ref heapCount);
                int rank = (int)(top >> 32), pos = (int)(uint)top;
                int right = ids[pos] < 0 ? -1 : next[pos];
                if (right < 0 || !_mergeByPair.TryGetValue(PairKey(ids[pos], ids[right]), out var m) || m.Rank != rank) continue;
                ids[pos] = m.Merged;
                ids[right] = -1;
                next[pos] = next[right];
                if (next[pos] >= 0) prev[next[pos]] = pos;
                if (prev[pos] >= 0 && _mergeByPair.TryGetValue(PairKey(ids[prev[pos]], ids[pos]), out var before))
                    HeapPush(heap, ref heapCount, ((long)before.Rank << 32) | (uint)prev[pos]);
                if (next[pos] >= 0 && _mergeByPair.TryGetValue(PairKey(ids[pos], ids[next[pos]]), out var after))
                    HeapPush(heap, ref heapCount, ((long)after.Rank << 32) | (uint)pos);
            }
            for (int i = 0; i >= 0; i = next[i]) output.Add(ids[i]);
        }
        finally
        {
            if (rentedLinks is not null) ArrayPool<int>.Shared.Return(rentedLinks);
            if (rentedHeap is not null) ArrayPool<long>.Shared.Return(rentedHeap);
        }
    }

    private static void HeapPush(Span<long> heap, ref int count, long value)
    {
        int i = count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (heap[parent] <= value) break;
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = value;
    }

    private static long HeapPop(Span<long> heap, ref int count)
    {
        long top = heap[0];
        long last = heap[--count];
        int i = 0;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= count) break;
            if (child + 1 < count && heap[child + 1] < heap[child]) child++;
            if (heap[child] >= last) break;
            heap[i] = heap[child];
            i = child;
        }
        if (count > 0) heap[i] = last;
        return top;
    }
}
