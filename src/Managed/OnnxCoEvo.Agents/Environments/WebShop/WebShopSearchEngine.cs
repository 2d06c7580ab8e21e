using System.Buffers;
using System.Numerics;

namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>
/// BM25 over the catalog, standing in for WebShop's Pyserini/Lucene index: one document per product with WebShop's
/// contents (lower-cased Title + Description + first bullet point + "name: v1, v2, and name2: ..." options).
/// </summary>
/// <remarks>
/// Scoring follows Lucene's BM25Similarity with Pyserini's defaults k1 = 0.9, b = 0.4: a term scores
/// idf · tf / (tf + k1·(1 − b + b·dl/avgdl)) with idf = ln(1 + (N − df + 0.5)/(df + 0.5)); a term repeated in the query
/// counts that many times (Pyserini's bag-of-words query boosts it). Document lengths are quantised as Lucene stores
/// them (SmallFloat.intToByte4: exact below 24 terms, then 4 significant bits); avgdl is exact. Scores are computed in
/// double rather than Lucene's float, so near-ties may order differently. Text analysis: <see cref="WebShopTextAnalyzer"/>.
/// Only products that contain a query term are returned; a query with no term left after analysis (empty, or only stop
/// words) returns nothing, as Lucene does. Thread-safe: the index is immutable and each search uses its own scratch.
/// </remarks>
public sealed class WebShopSearchEngine
{
    /// <summary>Pyserini's BM25 defaults.</summary>
    public const double K1 = 0.9, B = 0.4;

    private readonly IReadOnlyList<WebShopProduct> _products;
    private readonly Dictionary<string, int> _termIds = new(StringComparer.Ordinal);
    private readonly int[][] _postingDocs;
    private readonly int[][] _postingFrequencies;
    private readonly double[] _idf;
    // k1·(1 − b + b·dl/avgdl) per document: the tf saturation denominator's document part.
    private readonly double[] _lengthNorm;

    public WebShopSearchEngine(IReadOnlyList<WebShopProduct> products)
    {
        ArgumentNullException.ThrowIfNull(products);
        _products = products;
        var docs = new List<List<int>>();
        var frequencies = new List<List<int>>();
        var lengths = new int[products.Count];
        var counts = new Dictionary<int, int>();
        long totalTerms = 0;
        int documentsWithTerms = 0;
        for (int doc = 0; doc < products.Count; doc++)
        {
            List<string> terms = WebShopTextAnalyzer.Analyze(Contents(products[doc]));
            counts.Clear();
            foreach (string term in terms)
            {
                if (!_termIds.TryGetValue(term, out int id))
                {
                    id = _termIds.Count;
                    _termIds.Add(term, id);
                    docs.Add([]);
                    frequencies.Add([]);
                }
                counts[id] = counts.GetValueOrDefault(id) + 1;
            }
            foreach ((int id, int count) in counts)
            {
                docs[id].Add(doc);
                frequencies[id].Add(count);
            }
            lengths[doc] = terms.Count;
            totalTerms += terms.Count;
            if (terms.Count > 0)
                documentsWithTerms++;
        }

        _postingDocs = docs.Select(list => list.ToArray()).ToArray();
        _postingFrequencies = frequencies.Select(list => list.ToArray()).ToArray();
        _idf = _postingDocs.Select(posting => Math.Log(1 + (documentsWithTerms - posting.Length + 0.5) / (posting.Length + 0.5))).ToArray();
        double averageLength = documentsWithTerms == 0 ? 1 : (double)totalTerms / documentsWithTerms;
        _lengthNorm = lengths.Select(length => K1 * (1 - B + B * LuceneLength(length) / averageLength)).ToArray();
    }

    /// <summary>How many distinct terms the index holds.</summary>
    public int TermCount => _termIds.Count;

    /// <summary>The best <paramref name="top"/> products for the keywords, best first, ties broken by catalog order.</summary>
    public IReadOnlyList<WebShopProduct> Search(string keywords, int top = 50) =>
        SearchWithScores(keywords, top).Select(hit => hit.Product).ToArray();

    /// <summary>As <see cref="Search"/>, with each product's BM25 score.</summary>
    public IReadOnlyList<(WebShopProduct Product, double Score)> SearchWithScores(string keywords, int top = 50)
    {
        ArgumentNullException.ThrowIfNull(keywords);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(top);
        List<string> queryTerms = WebShopTextAnalyzer.Analyze(keywords);
        if (queryTerms.Count == 0 || _products.Count == 0)
            return [];

        double[] scores = ArrayPool<double>.Shared.Rent(_products.Count);
        var touched = new List<int>();
        try
        {
            Array.Clear(scores, 0, _products.Count);
            foreach (string term in queryTerms)
            {
                if (!_termIds.TryGetValue(term, out int id))
                    continue;
                int[] postingDocs = _postingDocs[id];
                int[] postingFrequencies = _postingFrequencies[id];
                double idf = _idf[id];
                for (int k = 0; k < postingDocs.Length; k++)
                {
                    int doc = postingDocs[k];
                    double tf = postingFrequencies[k];
                    if (scores[doc] == 0)
                        touched.Add(doc);
                    scores[doc] += idf * tf / (tf + _lengthNorm[doc]);
                }
            }
            return TopHits(scores, touched, top);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(scores);
        }
    }

    /// <summary>The document text WebShop indexes for a product (search_engine/convert_product_file_format.py), lower-cased.</summary>
    public static string Contents(WebShopProduct product)
    {
        ArgumentNullException.ThrowIfNull(product);
        string options = string.Join(", and ", product.Options.Select(group => $"{group.Name}: {string.Join(", ", group.Values)}"));
        string firstBullet = product.BulletPoints.Count > 0 ? product.BulletPoints[0] : "";
        return string.Join(' ', product.Title, product.Description, firstBullet, options).ToLowerInvariant();
    }

    /// <summary>A document length as Lucene's norms keep it: SmallFloat.intToByte4 then byte4ToInt.</summary>
    public static int LuceneLength(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        const int freeValues = 24; // 255 - longToInt4(int.MaxValue)
        if (length < freeValues)
            return length;
        // Keep the 4 most significant bits of (length - 24), rounding down.
        long value = length - freeValues;
        int bits = 64 - BitOperations.LeadingZeroCount((ulong)value);
        if (bits < 4)
            return length;
        int shift = bits - 4;
        return (int)(freeValues + ((value >> shift) << shift));
    }

    private IReadOnlyList<(WebShopProduct Product, double Score)> TopHits(double[] scores, List<int> touched, int top)
    {
        // Keep the best `top` in a heap whose root is the worst kept hit, then drain it back to front.
        var kept = new PriorityQueue<int, (double Score, int Doc)>(Math.Min(top, touched.Count) + 1, WorstFirst.Instance);
        foreach (int doc in touched)
        {
            (double, int) key = (scores[doc], doc);
            if (kept.Count < top)
                kept.Enqueue(doc, key);
            else if (kept.TryPeek(out _, out (double, int) worst) && WorstFirst.Instance.Compare(key, worst) > 0)
                kept.DequeueEnqueue(doc, key);
        }
        var result = new (WebShopProduct Product, double Score)[kept.Count];
        for (int k = result.Length - 1; k >= 0; k--)
        {
            int doc = kept.Dequeue();
            result[k] = (_products[doc], scores[doc]);
        }
        return result;
    }

    /// <summary>Orders hits worst first: lower score, then (as Lucene breaks ties by document id) later in the catalog.</summary>
    private sealed class WorstFirst : IComparer<(double Score, int Doc)>
    {
        public static readonly WorstFirst Instance = new();

        public int Compare((double Score, int Doc) x, (double Score, int Doc) y) =>
            x.Score != y.Score ? x.Score.CompareTo(y.Score) : y.Doc.CompareTo(x.Doc);
    }
}
