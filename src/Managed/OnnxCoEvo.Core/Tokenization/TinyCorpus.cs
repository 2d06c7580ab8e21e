using System.Globalization;
using System.Text;

namespace OnnxCoEvo.Core.Tokenization;

/// <summary>
/// The text the tiny tokenizer is trained on, written for this project: a few hand-written passages in the style
/// of web-shopping and household agent transcripts (ReAct thoughts and actions, WebShop pages joined with " [SEP] ",
/// ALFWorld-like rooms), plus episodes generated from word lists by a fixed-seed generator so that products, sizes,
/// colours, prices, ids and numbers come in many combinations. Deterministic: the same text on every run.
/// </summary>
public static class TinyCorpus
{
    private const int WebShopEpisodes = 36;
    private const int HouseholdEpisodes = 36;

    private static readonly Lazy<IReadOnlyList<string>> LazyTexts = new(Build);

    /// <summary>The corpus, one episode or passage per string (about 70 KB in all).</summary>
    public static IReadOnlyList<string> Texts => LazyTexts.Value;

    private static IReadOnlyList<string> Build()
    {
        var texts = new List<string>(HandWritten);
        var random = new SplitMix(20240611);
        for (int i = 0; i < WebShopEpisodes; i++) texts.Add(WebShopEpisode(random));
        for (int i = 0; i < HouseholdEpisodes; i++) texts.Add(HouseholdEpisode(random));
        return texts;
    }

    private static readonly string[] HandWritten =
    [
        """
        You are a shopping assistant on a web store. Each round you get the current page as text and you answer with one action.
        The available actions are search[keywords] when the page has a search box, and click[value] for a button or option on the page.
        Answer in this format:
        Thought: a short reason for the next step
        Action: the action to take
        If an action is not valid, nothing happens and you see the same page again. Buy the product that matches the instruction best.
        """,
        """
        WebShop [SEP] Instruction: [SEP] i want a pair of waterproof hiking boots for men, size 10.5, in dark brown, and price lower than 90.00 dollars [SEP] Search
        Thought: I think I should search for waterproof hiking boots for men.
        Action: search[waterproof hiking boots men size 10.5 dark brown]
        Observation: Instruction: [SEP] i want a pair of waterproof hiking boots for men, size 10.5, in dark brown, and price lower than 90.00 dollars [SEP] Back to Search [SEP] Page 1 (Total results: 50) [SEP] Next > [SEP] B08QX4R7TZ [SEP] Trailmark Men's Waterproof Hiking Boots Mid Ankle Outdoor Trekking Shoes [SEP] $67.99 [SEP] B07ZP3M2KD [SEP] Northpeak Leather Hiking Boot for Men, Non-Slip [SEP] $112.50 [SEP] B09JH6W1QS [SEP] Men's Lightweight Trail Shoes, Breathable Mesh [SEP] $39.95
        Thought: I think the first result is waterproof, for men, and the price $67.99 is below 90.00 dollars.
        Action: click[b08qx4r7tz]
        Observation: Instruction: [SEP] i want a pair of waterproof hiking boots for men, size 10.5, in dark brown, and price lower than 90.00 dollars [SEP] Back to Search [SEP] < Prev [SEP] color [SEP] black [SEP] dark brown [SEP] grey [SEP] size [SEP] 8 [SEP] 9 [SEP] 9.5 [SEP] 10 [SEP] 10.5 [SEP] 11 [SEP] 12 [SEP] Trailmark Men's Waterproof Hiking Boots Mid Ankle Outdoor Trekking Shoes [SEP] Price: $67.99 [SEP] Rating: N.A. [SEP] Description [SEP] Features [SEP] Reviews [SEP] Buy Now
        Thought: I think I should choose the color dark brown and the size 10.5.
        Action: click[dark brown]
        Observation: You have clicked dark brown.
        Action: click[10.5]
        Observation: You have clicked 10.5.
        Thought: Everything matches the instruction now, so I will buy it.
        Action: click[Buy Now]
        Observation: Thank you for shopping with us! [SEP] Your code: [SEP] None [SEP] (Paste it in your MTurk interface.) [SEP] Purchased [SEP] asin [SEP] B08QX4R7TZ [SEP] options [SEP] {"color": "dark brown", "size": "10.5"} [SEP] Your score (min 0.0, max 1.0) [SEP] 1.0
        """,
        """
        WebShop [SEP] Instruction: [SEP] i'm looking for a 2 pack of unscented hand cream for dry skin, and price lower than 20.00 dollars [SEP] Search
        Thought: I think I should search for unscented hand cream, 2 pack.
        Action: search[unscented hand cream dry skin 2 pack]
        Observation: Instruction: [SEP] i'm looking for a 2 pack of unscented hand cream for dry skin, and price lower than 20.00 dollars [SEP] Back to Search [SEP] Page 1 (Total results: 50) [SEP] Next > [SEP] B01N5SZ8QE [SEP] Aquavita Intensive Repair Hand Cream, Fragrance Free, 3 oz (Pack of 2) [SEP] $14.49 [SEP] B0C1L8T6VA [SEP] Shea Butter Hand Lotion Gift Set, 6 Scents [SEP] $22.00
        Thought: I think B01N5SZ8QE is fragrance free, comes in a pack of 2 and costs $14.49, which is under 20.00 dollars.
        Action: click[b01n5sz8qe]
        Observation: Instruction: [SEP] i'm looking for a 2 pack of unscented hand cream for dry skin, and price lower than 20.00 dollars [SEP] Back to Search [SEP] < Prev [SEP] Aquavita Intensive Repair Hand Cream, Fragrance Free, 3 oz (Pack of 2) [SEP] Price: $14.49 [SEP] Rating: 4.5 [SEP] Description [SEP] Features [SEP] Reviews [SEP] Buy Now
        Thought: There are no options to choose, so I can buy it.
        Action: click[Buy Now]
        Observation: Thank you for shopping with us! [SEP] Your score (min 0.0, max 1.0) [SEP] 1.0
        """,
        """
        Thought: The results on page 1 do not show a cotton one. I should look at the next page.
        Action: click[Next >]
        Observation: Instruction: [SEP] i need a 100% cotton throw blanket in light grey, and price lower than 40.00 dollars [SEP] Back to Search [SEP] Page 2 (Total results: 50) [SEP] < Prev [SEP] Next > [SEP] B07R2D9LMX [SEP] Cozynest 100% Cotton Knitted Throw Blanket 50 x 60 Inch, Light Grey [SEP] $29.99
        Thought: This one is 100% cotton and light grey. Its price is $29.99.
        Action: click[b07r2d9lmx]
        Observation: Invalid action!
        Thought: My click was not valid here. I should go back to search and try again.
        Action: click[Back to Search]
        Observation: WebShop [SEP] Instruction: [SEP] i need a 100% cotton throw blanket in light grey, and price lower than 40.00 dollars [SEP] Search
        """,
        """
        Interact with a household to solve a task. Each turn you may think about what to do next, or take one of these actions:
        go to a place, open or close a receptacle, take an object from a receptacle, put an object in/on a receptacle,
        clean an object with a receptacle, heat an object with a receptacle, cool an object with a receptacle,
        use a lamp, look, inventory, examine a receptacle. Use the numbers of the objects exactly as they are written.
        After your action, the environment answers with an observation. If the action has no effect, you see "Nothing happens."
        """,
        """
        You are in the middle of a room. Looking quickly around you, you see a bed 1, a desk 1, a desk 2, a drawer 1, a drawer 2, a drawer 3, a garbagecan 1, a laundryhamper 1, a shelf 1, a shelf 2, and a sidetable 1.
        Your task is to: examine the book with the desklamp.
        Thought: To solve the task, I need to find and take a book, then find and use a desklamp.
        OK.
        Action: go to bed 1
        Observation: On the bed 1, you see a book 1, a cellphone 2, a laptop 1, and a pillow 1.
        Action: take book 1 from bed 1
        Observation: You pick up the book 1 from the bed 1.
        Thought: Now I take a book (1). Next, I need to find a desklamp. A desklamp is more likely to appear on a desk (1-2) or a sidetable (1).
        Action: go to desk 1
        Observation: On the desk 1, you see a alarmclock 1, a desklamp 1, a mug 2, and a pencil 3.
        Action: use desklamp 1
        Observation: You turn on the desklamp 1.
        """,
        """
        Observation: The cabinet 4 is closed.
        Action: open cabinet 4
        Observation: You open the cabinet 4. The cabinet 4 is open. In it, you see nothing.
        Action: close cabinet 4
        Observation: You close the cabinet 4.
        Action: inventory
        Observation: You are not carrying anything.
        Action: look
        Observation: You are facing the countertop 2. Next to it, you see nothing.
        Action: go to countertop 3
        Observation: On the countertop 3, you see a bowl 2, a butterknife 1, a houseplant 1, a saltshaker 2, and a spatula 3.
        Action: take knife 5 from countertop 3
        Observation: Nothing happens.
        Thought: There is no knife 5 here. I should check the drawers.
        """,
        """
        Prices and numbers that often appear: $0.99, $1.50, $4.25, $9.99, $10.00, $12.99, $15.49, $19.95, $24.00, $29.99, $34.50, $49.99, $59.00, $79.95, $99.99, $120.00, $249.99.
        Sizes: 2 oz, 3.4 fl oz, 8 fl oz, 12 ounce, 16.9 fl oz, 1 pound, 2 pounds, 5 lb, 500 ml, 1 liter, 12 inch, 24 x 36 inch, 6 ft, 10 ft, 3 count, 12 count, 24 count (pack of 2), 100 count.
        Clothing sizes: x-small, small, medium, large, x-large, xx-large, 3x-large, 6-12 months, 2t, 4t, size 7, size 8.5, 32w x 30l, 34w x 32l.
        Colors: black, white, red, blue, navy, green, olive, grey, gray, heather grey, charcoal, beige, khaki, brown, pink, purple, yellow, orange, multicolor, clear.
        Counting: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 20, 25, 30, 40, 50, 60, 75, 100, 128, 256, 500, 1000, 2023, 2024.
        """,
    ];

    private static readonly string[] Brands =
    [
        "Luminae", "Greenfield", "Northpeak", "Bellacasa", "Urbanfox", "Kettlewood", "Sunmeadow", "Aquavita", "Pinecrest",
        "Moonbay", "Brightline", "Oakhaven", "Velora", "Trailmark", "Cozynest", "Purely Home", "Harbor & Finch", "Zentrix",
    ];

    private sealed record ProductKind(string Item, string[] Sizes, string[] Features, string OptionName, bool HasColor);

    private static readonly ProductKind[] Kinds =
    [
        new("men's crew neck t-shirt", ["small", "medium", "large", "x-large", "xx-large"], ["100% cotton", "machine wash", "short sleeve", "regular fit"], "size", true),
        new("women's high waist yoga pants", ["x-small", "small", "medium", "large"], ["tummy control", "4 way stretch", "squat proof", "with pockets"], "size", true),
        new("kids' fleece hoodie", ["4t", "5-6 years", "7-8 years", "10-12 years"], ["soft fleece", "zip up", "machine washable"], "size", true),
        new("unisex running shoes", ["size 7", "size 8", "size 8.5", "size 9", "size 10", "size 11"], ["lightweight", "breathable mesh", "non slip", "arch support"], "size", true),
        new("men's slim fit jeans", ["30w x 30l", "32w x 32l", "34w x 32l", "36w x 34l"], ["stretch denim", "five pocket", "button fly"], "size", true),
        new("moisturizing face cream", ["1.7 fl oz", "2.5 fl oz", "3.4 fl oz"], ["paraben free", "for sensitive skin", "hyaluronic acid", "fragrance free"], "size", false),
        new("argan oil shampoo", ["8 fl oz", "16.9 fl oz", "33.8 fl oz (pack of 2)"], ["sulfate free", "for dry hair", "color safe"], "size", false),
        new("vitamin c serum", ["1 fl oz", "2 fl oz"], ["anti aging", "cruelty free", "with vitamin e"], "size", false),
        new("organic green tea bags", ["20 count (pack of 6)", "100 count", "40 count (pack of 3)"], ["non gmo", "caffeine free", "individually wrapped"], "flavor name", false),
        new("gluten free crackers", ["4.25 ounce (pack of 6)", "8 ounce", "12 count"], ["gluten free", "low sodium", "whole grain"], "flavor name", false),
        new("dark chocolate almonds", ["8 ounce", "1 pound", "2 pounds", "32 ounce"], ["sugar free", "keto friendly", "resealable bag"], "flavor name", false),
        new("cold brew coffee concentrate", ["32 fl oz", "32 fl oz (pack of 3)", "64 fl oz"], ["unsweetened", "medium roast", "ready to drink"], "flavor name", false),
        new("memory foam pillow", ["standard", "queen", "king"], ["cooling gel", "hypoallergenic", "washable cover"], "size", true),
        new("blackout curtains", ["42 x 63 inch", "52 x 84 inch", "52 x 95 inch"], ["thermal insulated", "noise reducing", "2 panels"], "size", true),
        new("stainless steel water bottle", ["12 oz", "20 oz", "32 oz", "40 oz"], ["vacuum insulated", "leak proof", "bpa free", "dishwasher safe"], "size", true),
        new("bamboo cutting board", ["12 x 8 inch", "15 x 10 inch", "3 piece set"], ["easy to clean", "juice groove", "eco friendly"], "size", false),
        new("led desk lamp", ["1 pack", "2 pack"], ["dimmable", "usb charging port", "eye caring", "touch control"], "style", true),
        new("wireless bluetooth earbuds", ["1 pack"], ["noise cancelling", "long battery life", "water resistant", "fast charging"], "style", true),
        new("usb c charging cable", ["3 ft", "6 ft", "10 ft (2 pack)"], ["fast charging", "braided nylon", "durable"], "size", true),
        new("non-stick frying pan", ["8 inch", "10 inch", "12 inch"], ["oven safe", "induction compatible", "pfoa free"], "size", false),
    ];

    private static readonly string[] Colors =
    [
        "black", "white", "navy blue", "heather grey", "olive green", "burgundy", "beige", "light pink", "charcoal", "royal blue",
        "red", "khaki", "dark brown", "lavender", "teal", "mustard yellow",
    ];

    private static readonly string[] Flavors = ["original", "sea salt", "vanilla", "mint", "lemon", "honey", "caramel", "unsweetened"];
    private static readonly string[] Openers = ["i need", "i want", "i am looking for", "i'm looking for", "find me", "please get me", "i would like"];

    private static string WebShopEpisode(SplitMix r)
    {
        var kind = r.Pick(Kinds);
        string size = r.Pick(kind.Sizes);
        string color = kind.HasColor ? r.Pick(Colors) : r.Pick(Flavors);
        string feature = r.Pick(kind.Features);
        decimal limit = 10m * (r.Next(2, 15));
        decimal price = Math.Round(limit * (decimal)(0.35 + 0.6 * r.NextDouble()), 2) - 0.01m;
        if (price < 1) price = 4.99m;
        string colorPhrase = kind.HasColor ? $" in {color} color" : $" with {color} flavor";
        string instruction = $"{r.Pick(Openers)} {feature} {kind.Item}{colorPhrase}, {kind.OptionName}: {size}, and price lower than {Money(limit)} dollars";
        string title = $"{r.Pick(Brands)} {Title(kind.Item)}, {Title(feature)}, {Title(r.Pick(kind.Features))} - {Title(size)}";
        string asin = Asin(r);
        var results = new StringBuilder();
        int target = r.Next(0, 3);
        for (int i = 0; i < 3; i++)
        {
            if (i == target)
            {
                results.Append($" [SEP] {asin} [SEP] {title} [SEP] ${Money(price)}");
                continue;
            }
            var other = r.Pick(Kinds);
            results.Append($" [SEP] {Asin(r)} [SEP] {r.Pick(Brands)} {Title(other.Item)} {Title(r.Pick(other.Features))} [SEP] ${Money(r.Next(5, 200) + 0.99m)}");
        }
        string header = $"Instruction: [SEP] {instruction} [SEP] Back to Search";
        string options = kind.HasColor
            ? $" [SEP] color [SEP] {string.Join(" [SEP] ", Colors.Take(3).Append(color).Distinct())} [SEP] {kind.OptionName} [SEP] {string.Join(" [SEP] ", kind.Sizes)}"
            : $" [SEP] {kind.OptionName} [SEP] {string.Join(" [SEP] ", kind.Sizes)}";
        string query = $"{kind.Item} {feature} {size}";
        double rating = Math.Round(3 + 2 * r.NextDouble(), 1);
        var sb = new StringBuilder();
        sb.Append($"WebShop [SEP] Instruction: [SEP] {instruction} [SEP] Search\n");
        sb.Append($"Thought: I think I should search for {kind.Item} first.\nAction: search[{query}]\n");
        sb.Append($"Observation: {header} [SEP] Page 1 (Total results: 50) [SEP] Next >{results}\n");
        sb.Append($"Thought: I think {asin} is a {kind.Item} that is {feature}, and ${Money(price)} is lower than {Money(limit)} dollars.\n");
        sb.Append($"Action: click[{asin.ToLowerInvariant()}]\n");
        sb.Append($"Observation: {header} [SEP] < Prev{options} [SEP] {title} [SEP] Price: ${Money(price)} [SEP] Rating: {rating.ToString("0.0", CultureInfo.InvariantCulture)} [SEP] Description [SEP] Features [SEP] Reviews [SEP] Buy Now\n");
        sb.Append($"Thought: I think I should click on the {kind.OptionName} '{size}'");
        sb.Append(kind.HasColor ? $" and the color '{color}'.\n" : ".\n");
        sb.Append($"Action: click[{size}]\nObservation: You have clicked {size}.\n");
        if (kind.HasColor) sb.Append($"Action: click[{color}]\nObservation: You have clicked {color}.\n");
        sb.Append("Thought: Everything matches, so I should buy it now.\nAction: click[Buy Now]\n");
        double score = r.Next(0, 4) == 0 ? Math.Round(r.NextDouble(), 2) : 1.0;
        sb.Append($"Observation: Thank you for shopping with us! [SEP] Your score (min 0.0, max 1.0) [SEP] {score.ToString("0.0#", CultureInfo.InvariantCulture)}\n");
        return sb.ToString();
    }

    private static readonly string[] Receptacles =
    [
        "cabinet", "countertop", "drawer", "fridge", "shelf", "sinkbasin", "stoveburner", "microwave", "garbagecan", "coffeemachine",
        "diningtable", "sidetable", "dresser", "desk", "sofa", "armchair", "toaster", "safe", "bathtubbasin", "countertop",
    ];

    private static readonly string[] Objects =
    [
        "apple", "bread", "lettuce", "tomato", "potato", "egg", "mug", "cup", "plate", "bowl", "pan", "pot", "knife", "fork", "spoon",
        "spatula", "kettle", "soapbar", "towel", "cellphone", "keychain", "book", "pencil", "pen", "creditcard", "cd", "pillow",
        "remotecontrol", "vase", "candle", "cloth", "spraybottle", "winebottle", "saltshaker", "peppershaker", "dishsponge",
    ];

    private static readonly string[] Closed = ["cabinet", "drawer", "fridge", "microwave", "safe"];

    private static string HouseholdEpisode(SplitMix r)
    {
        var places = new List<string>();
        foreach (string rec in Receptacles.Distinct())
        {
            if (r.Next(0, 3) == 0) continue;
            int count = rec is "cabinet" or "drawer" or "countertop" or "shelf" ? r.Next(1, 7) : 1;
            for (int i = 1; i <= count; i++) places.Add($"{rec} {i}");
        }
        if (places.Count < 4) places.AddRange(["countertop 1", "fridge 1", "microwave 1", "sinkbasin 1"]);
        string obj = r.Pick(Objects);
        int objNumber = r.Next(1, 4);
        string source = r.Pick(places);
        string target = r.Pick(places);
        int mode = r.Next(0, 4);
        (string task, string verb, string tool) = mode switch
        {
            0 => ($"put a {obj} in {Base(target)}", "", ""),
            1 => ($"clean some {obj} and put it in {Base(target)}", "clean", "sinkbasin 1"),
            2 => ($"heat some {obj} and put it in {Base(target)}", "heat", "microwave 1"),
            _ => ($"cool some {obj} and put it in {Base(target)}", "cool", "fridge 1"),
        };
        var sb = new StringBuilder();
        sb.Append("You are in the middle of a room. Looking quickly around you, you see ");
        for (int i = 0; i < places.Count; i++) sb.Append(i == places.Count - 1 ? $"and a {places[i]}.\n" : $"a {places[i]}, ");
        sb.Append($"Your task is to: {task}.\n");
        sb.Append($"Thought: To solve the task, I need to find and take a {obj}");
        sb.Append(verb.Length > 0 ? $", then {verb} it with {Base(tool)}, then put it in {Base(target)}.\n" : $", then put it in {Base(target)}.\n");
        sb.Append("OK.\n");
        // A miss first, then the object.
        string miss = r.Pick(places);
        AppendVisit(sb, r, miss, others: 2, obj: null, objNumber: 0);
        sb.Append($"Thought: There is no {obj} here. Next, I should check {source}.\n");
        AppendVisit(sb, r, source, others: r.Next(0, 3), obj: obj, objNumber: objNumber);
        sb.Append($"Action: take {obj} {objNumber} from {source}\nObservation: You pick up the {obj} {objNumber} from the {source}.\n");
        if (verb.Length > 0)
        {
            sb.Append($"Action: go to {tool}\n");
            sb.Append(Base(tool) is "fridge" or "microwave" ? $"Observation: The {tool} is closed.\n" : $"Observation: On the {tool}, you see nothing.\n");
            string past = verb switch { "clean" => "clean", "heat" => "heat", _ => "cool" };
            sb.Append($"Action: {verb} {obj} {objNumber} with {tool}\nObservation: You {past} the {obj} {objNumber} using the {tool}.\n");
        }
        sb.Append($"Action: go to {target}\n");
        sb.Append(Closed.Contains(Base(target))
            ? $"Observation: The {target} is closed.\nAction: open {target}\nObservation: You open the {target}. The {target} is open. In it, you see nothing.\n"
            : $"Observation: On the {target}, you see a {r.Pick(Objects)} {r.Next(1, 4)}.\n");
        sb.Append($"Action: put {obj} {objNumber} in/on {target}\nObservation: You put the {obj} {objNumber} in/on the {target}.\n");
        return sb.ToString();
    }

    private static void AppendVisit(StringBuilder sb, SplitMix r, string place, int others, string? obj, int objNumber)
    {
        var seen = new List<string>();
        for (int i = 0; i < others; i++) seen.Add($"a {r.Pick(Objects)} {r.Next(1, 4)}");
        if (obj is not null) seen.Insert(r.Next(0, seen.Count + 1), $"a {obj} {objNumber}");
        string contents = seen.Count switch
        {
            0 => "nothing",
            1 => seen[0],
            _ => string.Join(", ", seen.Take(seen.Count - 1)) + ", and " + seen[^1],
        };
        sb.Append($"Action: go to {place}\n");
        if (Closed.Contains(Base(place)))
        {
            sb.Append($"Observation: The {place} is closed.\nAction: open {place}\n");
            sb.Append($"Observation: You open the {place}. The {place} is open. In it, you see {contents}.\n");
        }
        else
        {
            sb.Append($"Observation: On the {place}, you see {contents}.\n");
        }
    }

    private static string Base(string place) => place.Split(' ')[0];

    private static string Money(decimal value) => value.ToString("0.00", CultureInfo.InvariantCulture);

    private static string Title(string text) =>
        string.Join(' ', text.Split(' ').Select(w => w.Length == 0 || !char.IsLetter(w[0]) ? w : char.ToUpperInvariant(w[0]) + w[1..]));

    private static string Asin(SplitMix r)
    {
        const string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        var sb = new StringBuilder("B0");
        for (int i = 0; i < 8; i++) sb.Append(chars[r.Next(0, chars.Length)]);
        return sb.ToString();
    }

    /// <summary>SplitMix64: a tiny generator whose sequence is fixed by its seed on every platform and runtime.</summary>
    private sealed class SplitMix(ulong seed)
    {
        private ulong _state = seed;

        public ulong NextUInt64()
        {
            ulong z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        /// <summary>A number in [min, max).</summary>
        public int Next(int min, int max) => min + (int)(NextUInt64() % (ulong)(max - min));

        public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

        public T Pick<T>(IReadOnlyList<T> items) => items[Next(0, items.Count)];
    }
}
