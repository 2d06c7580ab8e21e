using System.Globalization;
using System.Text.RegularExpressions;

namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>One product line of a results page: asin, title and price tag as shown.</summary>
public sealed record WebShopListing(string Asin, string Title, string PriceTag)
{
    /// <summary>The lowest price in the tag ("$12.5" or "$12.5 to $20.0"); +infinity when the tag holds no number.</summary>
    public double LowestPrice
    {
        get
        {
            int dollar = PriceTag.IndexOf('$');
            if (dollar < 0)
                return double.PositiveInfinity;
            ReadOnlySpan<char> rest = PriceTag.AsSpan(dollar + 1);
            int end = rest.IndexOf(' ');
            return double.TryParse(end < 0 ? rest : rest[..end], NumberStyles.Float, CultureInfo.InvariantCulture, out double price)
                ? price
                : double.PositiveInfinity;
        }
    }
}

/// <summary>What a reader of a WebShop text page can tell: the kind of page, the instruction, and for results pages the paging and the listings.</summary>
public sealed record WebShopPageView(
    WebShopPageKind? Kind,
    string Instruction,
    int PageNumber,
    int TotalResults,
    bool HasPrevious,
    bool HasNext,
    IReadOnlyList<WebShopListing> Listings,
    string? ItemTitle)
{
    public bool IsKnown => Kind is not null;
}

/// <summary>
/// Reads the text pages <see cref="WebShopPages"/> renders back into their parts, as an agent would: it sees only the
/// text. Sub-pages read as <see cref="WebShopPageKind.Description"/> (their texts do not say which one they are).
/// Unrecognised text gives a view with a null kind.
/// </summary>
public static partial class WebShopPageReader
{
    public static WebShopPageView Read(string observation)
    {
        ArgumentNullException.ThrowIfNull(observation);
        string[] parts = observation.Split(WebShopPages.Separator);
        if (parts.Length >= 3 && parts[0] == "WebShop" && parts[1] == "Instruction:")
            return Simple(WebShopPageKind.Search, parts[2]);
        if (parts[0] == WebShopPages.ThankYou)
            return Simple(WebShopPageKind.Done, "");
        if (parts.Length < 4 || parts[0] != "Instruction:" || parts[2] != WebShopPages.BackToSearch)
            return Simple(null, "");

        string instruction = parts[1];
        Match header = ResultsHeader().Match(parts[3]);
        if (header.Success)
            return ReadResults(parts, instruction, header);
        if (parts[3] != WebShopPages.PreviousPage)
            return Simple(null, instruction);
        // An item page ends with its four buttons after "Price:" and "Rating:" lines that follow the title.
        if (parts.Length >= 11 && parts[^1] == WebShopPages.BuyNow && parts[^2] == WebShopPages.Reviews
            && parts[^3] == WebShopPages.Features && parts[^4] == WebShopPages.Description
            && parts[^5].StartsWith("Rating: ", StringComparison.Ordinal) && parts[^6].StartsWith("Price: ", StringComparison.Ordinal))
            return Simple(WebShopPageKind.Item, instruction) with { ItemTitle = parts[^7] };
        return Simple(WebShopPageKind.Description, instruction);
    }

    /// <summary>The observation without the protocol's "Observation:\n" prefix and the example's task introduction.</summary>
    public static string StripPrefixes(string userTurn)
    {
        ArgumentNullException.ThrowIfNull(userTurn);
        string text = userTurn;
        if (text.StartsWith(Protocol.ReActProtocol.TaskIntroduction, StringComparison.Ordinal))
            text = text[Protocol.ReActProtocol.TaskIntroduction.Length..];
        if (text.StartsWith(WebShopProtocol.ObservationPrefix, StringComparison.Ordinal))
            text = text[WebShopProtocol.ObservationPrefix.Length..];
        return text;
    }

    private static WebShopPageView ReadResults(string[] parts, string instruction, Match header)
    {
        int page = int.Parse(header.Groups[1].ValueSpan, CultureInfo.InvariantCulture);
        int total = int.Parse(header.Groups[2].ValueSpan, CultureInfo.InvariantCulture);
        int at = 4;
        bool previous = at < parts.Length && parts[at] == WebShopPages.PreviousPage;
        if (previous)
            at++;
        bool next = at < parts.Length && parts[at] == WebShopPages.NextPage;
        if (next)
            at++;
        var listings = new List<WebShopListing>();
        for (; at + 2 < parts.Length; at += 3)
            listings.Add(new WebShopListing(parts[at], parts[at + 1], parts[at + 2]));
        return new WebShopPageView(WebShopPageKind.Results, instruction, page, total, previous, next, listings, null);
    }

    private static WebShopPageView Simple(WebShopPageKind? kind, string instruction) =>
        new(kind, instruction, 0, 0, false, false, [], null);

    [GeneratedRegex(@"^Page (\d+) \(Total results: (\d+)\)$", RegexOptions.CultureInvariant)]
    private static partial Regex ResultsHeader();
}
