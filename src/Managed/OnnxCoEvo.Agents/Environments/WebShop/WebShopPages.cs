using System.Globalization;
using System.Text;

namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>Which WebShop template a page comes from.</summary>
public enum WebShopPageKind
{
    Search,
    Results,
    Item,
    Description,
    Features,
    Reviews,
    Done,
}

/// <summary>What clicking a clickable does: a button, a product link (its asin) or an option value (its group).</summary>
public enum WebShopClickKind
{
    Button,
    Product,
    Option,
}

/// <summary>The target behind one clickable key: <see cref="Value"/> is the button text, the asin (upper case as in the catalog) or the option value; <see cref="Group"/> the option group's name.</summary>
public sealed record WebShopClickTarget(WebShopClickKind Kind, string Value, string? Group = null);

/// <summary>
/// One rendered page in WebShop's text ("simple") mode: <see cref="Text"/> is the page's visible texts joined by
/// <see cref="WebShopPages.Separator"/>; <see cref="Clickables"/> is <c>get_available_actions()['clickables']</c> in
/// WebShop's order (buttons, then product links, then option values; lower case, first occurrence wins the position).
/// </summary>
public sealed class WebShopPage
{
    private readonly Dictionary<string, WebShopClickTarget> _targets;

    internal WebShopPage(WebShopPageKind kind, string text, bool hasSearchBar, IReadOnlyList<string> clickables, Dictionary<string, WebShopClickTarget> targets)
    {
        Kind = kind;
        Text = text;
        HasSearchBar = hasSearchBar;
        Clickables = clickables;
        _targets = targets;
    }

    public WebShopPageKind Kind { get; }
    public string Text { get; }
    public bool HasSearchBar { get; }
    public IReadOnlyList<string> Clickables { get; }

    /// <summary>The target of a clickable key (already lower case), or null when the page has no such clickable.</summary>
    public WebShopClickTarget? Target(string key) => _targets.GetValueOrDefault(key);

    public override string ToString() => Text;
}

/// <summary>
/// Renders WebShop's pages as its text env sees them: the templates' visible text nodes in document order, each
/// stripped, joined by " [SEP] " (environments.md §1.2). Buttons and texts are WebShop's; the hidden block of the done
/// page is visible to the text env (BeautifulSoup does not apply CSS), so it is rendered too.
/// </summary>
public static class WebShopPages
{
    public const string Separator = " [SEP] ";
    public const string SearchButton = "Search";
    public const string BackToSearch = "Back to Search";
    public const string NextPage = "Next >";
    public const string PreviousPage = "< Prev";
    public const string BuyNow = "Buy Now";
    public const string Description = "Description";
    public const string Features = "Features";
    public const string Reviews = "Reviews";

    /// <summary>Products per results page (WebShop's PRODUCT_WINDOW).</summary>
    public const int ProductsPerPage = 10;

    /// <summary>How many search hits WebShop keeps (SEARCH_RETURN_N).</summary>
    public const int SearchResultCount = 50;

    public const string ThankYou = "Thank you for shopping with us!";
    public const string ScoreHeading = "Your score (min 0.0, max 1.0)";

    public static WebShopPage Search(string instruction) =>
        new PageBuilder(WebShopPageKind.Search, hasSearchBar: true)
            .Text("WebShop").Text("Instruction:").Text(instruction).Button(SearchButton).Build();

    /// <summary>Page <paramref name="page"/> (1-based) of <paramref name="results"/>; "Next &gt;" only while more results follow.</summary>
    public static WebShopPage Results(string instruction, IReadOnlyList<WebShopProduct> results, int page)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentOutOfRangeException.ThrowIfLessThan(page, 1);
        var builder = Heading(WebShopPageKind.Results, instruction)
            .Text(string.Create(CultureInfo.InvariantCulture, $"Page {page} (Total results: {results.Count})"));
        if (page > 1)
            builder.Button(PreviousPage);
        if (page * ProductsPerPage < results.Count)
            builder.Button(NextPage);
        int end = Math.Min(results.Count, page * ProductsPerPage);
        for (int i = (page - 1) * ProductsPerPage; i < end; i++)
        {
            WebShopProduct product = results[i];
            builder.ProductLink(product.Asin).Text(product.Title).Text(product.PriceTag);
        }
        return builder.Build();
    }

    /// <summary>The item page; selected options do not change its simple text (WebShop marks them by script only).</summary>
    public static WebShopPage Item(string instruction, WebShopProduct product)
    {
        ArgumentNullException.ThrowIfNull(product);
        var builder = Heading(WebShopPageKind.Item, instruction).Button(PreviousPage);
        foreach (WebShopOptionGroup group in product.Options)
        {
            builder.Text(group.Name);
            foreach (string value in group.Values)
                builder.Option(group.Name, value);
        }
        return builder.Text(product.Title)
            .Text("Price: " + product.PriceTag)
            .Text("Rating: " + product.Rating)
            .Button(Description).Button(Features).Button(Reviews).Button(BuyNow)
            .Build();
    }

    /// <summary>The Description, Features or Reviews page of a product.</summary>
    public static WebShopPage SubPage(string instruction, WebShopProduct product, WebShopPageKind kind)
    {
        ArgumentNullException.ThrowIfNull(product);
        var builder = Heading(kind, instruction).Button(PreviousPage);
        IEnumerable<string> texts = kind switch
        {
            WebShopPageKind.Description => [product.Description],
            WebShopPageKind.Features => product.BulletPoints,
            WebShopPageKind.Reviews => product.Reviews,
            _ => throw new ArgumentException($"{kind} is not an item sub-page (Description, Features, Reviews)", nameof(kind)),
        };
        foreach (string text in texts)
            builder.Text(text);
        return builder.Build();
    }

    /// <summary>
    /// The done page as the text env renders it: the thank-you text, the MTurk code block (None), the purchase details
    /// WebShop fills (asin, options as JSON) and those it leaves unset (None or empty), then the score.
    /// </summary>
    public static WebShopPage Done(string asin, IReadOnlyDictionary<string, string> selectedOptions, double reward)
    {
        ArgumentNullException.ThrowIfNull(selectedOptions);
        var builder = new PageBuilder(WebShopPageKind.Done, hasSearchBar: false)
            .Text(ThankYou).Text("Your code:").Text("None").Text("(Paste it in your MTurk interface.)")
            .Text("Purchased").Text("asin").Text(asin).Text("options").Text(OptionsJson(selectedOptions));
        foreach (string unset in (ReadOnlySpan<string>)["attrs", "category", "query", "product category"])
            builder.Text(unset).Text("None");
        builder.Text("Target");
        // The target block reads fields of a goal the done handler does not pass: the headings show, the values are empty.
        foreach (string heading in (ReadOnlySpan<string>)["asin", "options", "attrs", "price upper", "instuction text", "category", "product category", "query"])
            builder.Text(heading);
        return builder.Text("Goal").Text("None").Text("Reward")
            .Text(ScoreHeading).Text(WebShopProduct.FormatPrice(reward))
            .Text("Reward Details").Text("None")
            .Build();
    }

    /// <summary>Flask's <c>tojson</c>: keys sorted, ", " and ": " separators, ASCII only, and &lt; &gt; &amp; ' escaped for HTML.</summary>
    public static string OptionsJson(IReadOnlyDictionary<string, string> options)
    {
        var json = new StringBuilder("{");
        bool first = true;
        foreach ((string name, string value) in options.OrderBy(pair => pair.Key, StringComparer.Ordinal))
        {
            if (!first)
                json.Append(", ");
            first = false;
            AppendJsonString(json, name);
            json.Append(": ");
            AppendJsonString(json, value);
        }
        return json.Append('}').ToString();
    }

    private static void AppendJsonString(StringBuilder json, string text)
    {
        json.Append('"');
        foreach (char c in text)
        {
            switch (c)
            {
                case '"': json.Append("\\\""); break;
                case '\\': json.Append("\\\\"); break;
                case '\n': json.Append("\\n"); break;
                case '\r': json.Append("\\r"); break;
                case '\t': json.Append("\\t"); break;
                default:
                    if (c < 0x20 || c > 0x7E || c is '<' or '>' or '&' or '\'')
                        json.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                    else
                        json.Append(c);
                    break;
            }
        }
        json.Append('"');
    }

    /// <summary>The start every page but search and done shares: instruction, then "Back to Search".</summary>
    private static PageBuilder Heading(WebShopPageKind kind, string instruction) =>
        new PageBuilder(kind, hasSearchBar: false).Text("Instruction:").Text(instruction).Button(BackToSearch);

    /// <summary>Collects visible texts and clickables in document order, with bs4's handling of whitespace-only nodes.</summary>
    private sealed class PageBuilder(WebShopPageKind kind, bool hasSearchBar)
    {
        private readonly List<string> _texts = [];
        private readonly List<(string Key, WebShopClickTarget Target)> _buttonsAndLinks = [];
        private readonly List<(string Key, WebShopClickTarget Target)> _options = [];

        public PageBuilder Text(string raw)
        {
            ArgumentNullException.ThrowIfNull(raw);
            // An empty value renders no text node. bs4 collapses a whitespace-only node to "\n" (dropped by the text
            // env) when it holds a line break, else to " " (kept, stripped to an empty piece).
            if (raw.Length == 0)
                return this;
            if (string.IsNullOrWhiteSpace(raw))
            {
                if (!raw.Contains('\n'))
                    _texts.Add("");
                return this;
            }
            _texts.Add(raw.Trim());
            return this;
        }

        public PageBuilder Button(string label)
        {
            _buttonsAndLinks.Add((label.ToLowerInvariant(), new WebShopClickTarget(WebShopClickKind.Button, label)));
            return Text(label);
        }

        public PageBuilder ProductLink(string asin)
        {
            // Buttons come before links in WebShop's clickables; results pages put every button before the first link anyway.
            _buttonsAndLinks.Add((asin.ToLowerInvariant(), new WebShopClickTarget(WebShopClickKind.Product, asin)));
            return Text(asin);
        }

        public PageBuilder Option(string group, string value)
        {
            _options.Add((value, new WebShopClickTarget(WebShopClickKind.Option, value, group)));
            return Text(value);
        }

        public WebShopPage Build()
        {
            var order = new List<string>();
            var targets = new Dictionary<string, WebShopClickTarget>(StringComparer.Ordinal);
            foreach ((string key, WebShopClickTarget target) in _buttonsAndLinks.Where(b => b.Target.Kind == WebShopClickKind.Button))
                Add(key, target);
            foreach ((string key, WebShopClickTarget target) in _buttonsAndLinks.Where(b => b.Target.Kind == WebShopClickKind.Product))
                Add(key, target);
            foreach ((string key, WebShopClickTarget target) in _options)
                Add(key, target);
            return new WebShopPage(kind, string.Join(Separator, _texts), hasSearchBar, order, targets);

            // A python dict: the first insertion fixes the position, the last one the value.
            void Add(string key, WebShopClickTarget target)
            {
                if (!targets.ContainsKey(key))
                    order.Add(key);
                targets[key] = target;
            }
        }
    }
}
