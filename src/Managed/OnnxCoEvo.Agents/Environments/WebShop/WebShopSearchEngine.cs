namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>
/// BM25 over the catalog, standing in for WebShop's Pyserini/Lucene index: one document per product with WebShop's
/// contents (lower-cased Title + Description + first bullet point + "name: v1, v2, and name2: ..." options).
/// </summary>
public sealed class WebShopSearchEngine
{
    public WebShopSearchEngine(IReadOnlyList<WebShopProduct> products)
    {
        ArgumentNullException.ThrowIfNull(products);
        throw new NotImplementedException("issue 4: WebShop BM25 search (owned by the WebShop engine work)");
    }

    /// <summary>The best <paramref name="top"/> products for the keywords, best first, ties broken by catalog order.</summary>
    public IReadOnlyList<WebShopProduct> Search(string keywords, int top = 50) =>
        throw new NotImplementedException("issue 4: WebShop BM25 search");
}
