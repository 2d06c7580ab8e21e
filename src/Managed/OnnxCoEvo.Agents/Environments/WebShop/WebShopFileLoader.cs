namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>Loads WebShop's own data files (items_shuffle*.json, items_ins_v2*.json, items_human_ins.json) from a directory.</summary>
public static class WebShopFileLoader
{
    /// <param name="directory">Holds the files; which variants (small "_1000" or full) is detected.</param>
    /// <param name="seed">Seeds the draws WebShop makes at load time (range prices, price thresholds, goal shuffle).</param>
    public static WebShopCatalog Load(string directory, ulong seed = 0) =>
        throw new NotImplementedException("issue 4: WebShop file loader");
}
