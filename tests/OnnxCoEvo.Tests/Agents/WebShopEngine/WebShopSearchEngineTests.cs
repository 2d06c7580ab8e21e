using OnnxCoEvo.Agents.Environments.WebShop;
using Xunit;

namespace OnnxCoEvo.Tests.Agents.WebShopEngine;

public sealed class WebShopSearchEngineTests
{
    private static WebShopProduct Item(string asin, string title, string description = "", IReadOnlyList<string>? bullets = null,
        IReadOnlyList<WebShopOptionGroup>? options = null) => new()
    {
        Asin = asin,
        Title = title,
        Category = "beauty",
        Query = "q",
        ProductCategory = "A › B",
        Description = description,
        BulletPoints = bullets ?? [],
        Pricing = [10.0],
        Price = 10.0,
        Options = options ?? [],
        Attributes = ["DUMMY_ATTR"],
    };

    private static readonly WebShopProduct[] Catalog =
    [
        Item("B000000001", "Acme Lavender Candle", "A soy candle that smells of lavender fields"),
        Item("B000000002", "Zen Running Shoes", "Lightweight shoes for runners", ["breathable mesh upper", "marathon tested"]),
        Item("B000000003", "Acme Lavender Shampoo", "Gentle shampoo for dry hair", ["sulfate free"],
            [new WebShopOptionGroup("size", ["8 fl oz", "16 fl oz"]), new WebShopOptionGroup("scent", ["lavender", "unscented"])]),
        Item("B000000004", "Bolt Wireless Headphones", "Noise cancelling headphones with 30 hour battery"),
        Item("B000000005", "Lavender Essential Oil", "Pure oil"),
    ];

    private static string[] Asins(IEnumerable<WebShopProduct> products) => products.Select(p => p.Asin).ToArray();

    [Fact]
    public void Documents_hold_title_description_first_bullet_and_options_lower_cased() =>
        Assert.Equal("acme lavender shampoo gentle shampoo for dry hair sulfate free size: 8 fl oz, 16 fl oz, and scent: lavender, unscented",
            WebShopSearchEngine.Contents(Catalog[2]));

    [Fact]
    public void Products_with_every_query_word_in_the_title_rank_first()
    {
        var engine = new WebShopSearchEngine(Catalog);
        string[] hits = Asins(engine.Search("lavender shampoo"));
        Assert.Equal("B000000003", hits[0]);
        Assert.Equal(["B000000001", "B000000003", "B000000005"], hits.Order().ToArray());
    }

    [Fact]
    public void Query_and_documents_are_stemmed_alike()
    {
        var engine = new WebShopSearchEngine(Catalog);
        Assert.Equal(["B000000002"], Asins(engine.Search("running shoe")));
        Assert.Equal(["B000000004"], Asins(engine.Search("HEADPHONE cancel")));
    }

    [Fact]
    public void Stop_words_are_ignored_and_a_query_of_only_stop_words_finds_nothing()
    {
        var engine = new WebShopSearchEngine(Catalog);
        Assert.Equal(engine.SearchWithScores("shampoo hair"), engine.SearchWithScores("the shampoo for a hair"));
        Assert.Empty(engine.Search("the and of"));
        Assert.Empty(engine.Search(""));
        Assert.Empty(engine.Search("zzz"));
    }

    [Fact]
    public void Only_the_first_bullet_point_and_the_options_are_indexed()
    {
        var engine = new WebShopSearchEngine(Catalog);
        Assert.Equal(["B000000002"], Asins(engine.Search("mesh")));
        Assert.Empty(engine.Search("marathon"));
        Assert.Equal(["B000000003"], Asins(engine.Search("unscented")));
    }

    [Fact]
    public void Scores_are_lucene_bm25_with_pyserini_defaults()
    {
        var engine = new WebShopSearchEngine([Item("B000000001", "apple apple banana"), Item("B000000002", "banana cherry")]);
        // N = 2, df(apple) = 1: idf = ln(1 + 1.5/1.5) = ln 2; dl = 3, avgdl = 2.5: norm = 0.9·(0.6 + 0.4·3/2.5) = 0.972.
        (WebShopProduct product, double score) = Assert.Single(engine.SearchWithScores("apple"));
        Assert.Equal("B000000001", product.Asin);
        Assert.Equal(Math.Log(2) * 2 / (2 + 0.972), score, 12);
        // A repeated query word counts twice.
        Assert.Equal(2 * score, engine.SearchWithScores("apple apples")[0].Score, 12);
    }

    [Fact]
    public void Ties_keep_catalog_order_and_top_cuts_the_list()
    {
        WebShopProduct[] twins = Enumerable.Range(0, 80).Select(i => Item($"B{i:D9}", "plain mug")).ToArray();
        var engine = new WebShopSearchEngine(twins);
        IReadOnlyList<WebShopProduct> hits = engine.Search("mug");
        Assert.Equal(50, hits.Count);
        Assert.Equal(Asins(twins.Take(50)), Asins(hits));
        Assert.Equal(Asins(twins.Take(3)), Asins(engine.Search("mug", top: 3)));
        Assert.Throws<ArgumentOutOfRangeException>(() => engine.Search("mug", top: 0));
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(23, 23)]
    [InlineData(24, 24)]
    [InlineData(39, 39)]
    [InlineData(40, 40)]
    [InlineData(41, 40)]
    [InlineData(100, 96)]
    public void Document_lengths_are_quantised_as_lucene_norms(int length, int expected) =>
        Assert.Equal(expected, WebShopSearchEngine.LuceneLength(length));

    [Fact]
    public void Analyzer_keeps_numbers_and_inner_apostrophes_and_drops_possessives()
    {
        Assert.Equal(["women", "l'eau", "6.76", "fl", "oz", "1,000", "pack", "12oz"],
            WebShopTextAnalyzer.Analyze("Women's L'Eau 6.76 fl oz, 1,000-pack of 12oz"));
    }

    [Theory]
    [InlineData("caresses", "caress")]
    [InlineData("ponies", "poni")]
    [InlineData("cats", "cat")]
    [InlineData("feed", "feed")]
    [InlineData("agreed", "agre")]
    [InlineData("plastered", "plaster")]
    [InlineData("motoring", "motor")]
    [InlineData("sing", "sing")]
    [InlineData("conflated", "conflat")]
    [InlineData("sized", "size")]
    [InlineData("hopping", "hop")]
    [InlineData("falling", "fall")]
    [InlineData("filing", "file")]
    [InlineData("happy", "happi")]
    [InlineData("sky", "sky")]
    [InlineData("relational", "relat")]
    [InlineData("conditional", "condit")]
    [InlineData("digitizer", "digit")]
    [InlineData("conformabli", "conform")]
    [InlineData("radicalli", "radic")]
    [InlineData("vietnamization", "vietnam")]
    [InlineData("operator", "oper")]
    [InlineData("hopefulness", "hope")]
    [InlineData("sensibiliti", "sensibl")]
    [InlineData("triplicate", "triplic")]
    [InlineData("formative", "form")]
    [InlineData("electrical", "electr")]
    [InlineData("goodness", "good")]
    [InlineData("allowance", "allow")]
    [InlineData("adjustable", "adjust")]
    [InlineData("replacement", "replac")]
    [InlineData("adoption", "adopt")]
    [InlineData("communism", "commun")]
    [InlineData("effective", "effect")]
    [InlineData("probate", "probat")]
    [InlineData("rate", "rate")]
    [InlineData("controll", "control")]
    [InlineData("roll", "roll")]
    [InlineData("generalizations", "gener")]
    [InlineData("oscillators", "oscil")]
    [InlineData("analogousli", "analog")]
    [InlineData("archaeology", "archaeolog")]
    [InlineData("shoes", "shoe")]
    [InlineData("running", "run")]
    [InlineData("is", "is")]
    public void Porter_stems_as_the_reference_implementation(string word, string stem) =>
        Assert.Equal(stem, PorterStemmer.Stem(word));
}
