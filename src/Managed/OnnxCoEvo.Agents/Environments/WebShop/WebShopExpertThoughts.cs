using OnnxCoEvo.Core.Models;

namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>
/// The wording of the expert's thoughts: a few phrasings per kind of step, picked by a seeded stream so that replays give
/// the same text. Failing choices are worded as confidently as good ones, as a real expert's would be.
/// </summary>
internal struct WebShopExpertThoughts(ulong seed)
{
    private Xoshiro256StarStar _random = new(seed);

    public string Search(string keywords, string productType) => Pick(
        $"I think I should search for {keywords} first.",
        $"I think the keywords \"{keywords}\" describe what I need, so I will search for them.",
        $"I think a search for {keywords} should bring up the right product.",
        $"I need to find a {productType}. I think searching for {keywords} is a good start.");

    /// <summary>Searching with the instruction's own words: the thought names the product type only, so the long
    /// instruction is copied once (into the action), not twice.</summary>
    public string SearchInstruction(string productType) => Pick(
        $"I need to find a {productType}. I think the words of the instruction are the best keywords.",
        $"I think searching with the instruction itself should bring up the {productType} I need.");

    public string SearchAgain() => Pick(
        "I think these results are not what the instruction asks for; I should go back and search with better keywords.",
        "I think none of these products is the kind I need, so I will return to the search page and try again.");

    public string NextPage() => Pick(
        "I think none of the products on this page is quite right, so I will check the next page.",
        "I think I should look at more results before choosing one.",
        "I think the product I want is not on this page; the next page may have it.");

    public string BrowseNextPage() => Pick(
        "I think there might be better options on the next page, so I will take a look first.",
        "I think it is worth comparing with the next page of results before deciding.");

    public string ReturnToPreviousPage() => Pick(
        "I think the products on the previous page matched better, so I will go back.",
        "I think these are worse than what I saw before; I will return to the previous page.");

    public string Open(WebShopListing listing, string productType) => Pick(
        $"I think {listing.Asin} fits the instruction: {ShortTitle(listing.Title)}, priced at {listing.PriceTag}.",
        $"I think {listing.Asin} looks like the {productType} I need, so I will open it.",
        $"I think {listing.Asin} matches the requirements best, so I will click it.");

    public string SelectOption(string group, string value) => Pick(
        $"I think I need to select {value} for the {group}.",
        $"I think the instruction asks for {value}, so I will choose it.",
        $"I think the {group} should be {value}.");

    public string ReadDetails(WebShopPageKind kind) => Pick(
        $"I think I should check the {Name(kind)} to make sure this product has what I need.",
        $"I think reading the {Name(kind)} will confirm that this is the right product.");

    public string ExtraView(WebShopPageKind kind) => Pick(
        $"I think I should look at the {Name(kind)} once more before buying.",
        $"I think the {Name(kind)} might tell me something more about this product.");

    public string LeaveSubPage() => Pick(
        "I think that looks fine; I will go back to the product page.",
        "I think I have seen enough here, so I will return to the product.");

    public string Buy(bool hasOptions) => hasOptions
        ? Pick("I think everything matches the instruction now, so I will buy it.",
               "I think the options are set and the price is within the limit, so I will click Buy Now.")
        : Pick("I think this is the right product and the price is fine, so I will buy it.",
               "I think this product matches the instruction, so I will click Buy Now.");

    public string Unexpected() => "I think I am not where I expected to be, so I will search again.";

    private static string Name(WebShopPageKind kind) => kind switch
    {
        WebShopPageKind.Features => "features",
        WebShopPageKind.Reviews => "reviews",
        _ => "description",
    };

    private static string ShortTitle(string title)
    {
        string[] words = title.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return words.Length <= 6 ? title : string.Join(' ', words[..6]) + " ...";
    }

    private string Pick(params string[] choices) => choices[(int)(_random.NextDouble() * choices.Length)];
}
