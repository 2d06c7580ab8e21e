namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>An option group of a synthetic product type: a product offers a subset of the values, in this order.</summary>
internal sealed record SyntheticOption(string Name, string[] Values);

/// <summary>
/// A kind of product the synthetic catalog sells: every product of a type shares its search query and breadcrumb (as
/// WebShop's products were scraped per query), so neighbours of one type are the near-duplicates a shopper must tell apart.
/// </summary>
/// <param name="Noun">The product noun as it appears in titles (title case) and, lower-cased, in instructions.</param>
/// <param name="Descriptors">Title words that distinguish families of near-duplicates ("Tea Tree", "Matte").</param>
/// <param name="Attributes">Attributes typical of the type; products draw from these and their category's pool.</param>
internal sealed record SyntheticProductType(
    string Noun, string Query, string Breadcrumb, string[] Descriptors, string[] Attributes, SyntheticOption[] Options,
    double MinPrice, double MaxPrice);

internal sealed record SyntheticCategory(string Name, string[] Brands, string[] Attributes, SyntheticProductType[] Types);

/// <summary>The words of the synthetic catalog: six categories with five product types each, in WebShop's style.</summary>
internal static class WebShopSyntheticVocabulary
{
    private static SyntheticOption Option(string name, params string[] values) => new(name, values);

    private static readonly SyntheticOption ApparelSizes = Option("size", "small", "medium", "large", "x-large", "xx-large");
    private static readonly SyntheticOption BasicColors = Option("color", "black", "white", "navy blue", "grey", "red", "green");
    private static readonly SyntheticOption Packs = Option("item package quantity", "1 pack", "2 pack", "3 pack", "4 pack");

    public static SyntheticCategory[] Categories { get; } =
    [
        new("beauty",
            ["Lumiere", "Aveline", "Bellora", "Purely", "Glowella", "Verdana", "Silkara", "Nuvana"],
            ["cruelty free", "paraben free", "long lasting", "natural ingredients", "dermatologist tested", "travel size",
             "fragrance free", "easy to use"],
            [
                new("Shampoo", "shampoo", "Beauty & Personal Care › Hair Care › Shampoo & Conditioner › Shampoos",
                    ["Argan Oil", "Tea Tree", "Volumizing", "Moisturizing", "Clarifying", "Coconut", "Keratin", "Biotin"],
                    ["sulfate free", "dry hair", "hair growth", "color safe", "damaged hair", "tea tree"],
                    [Option("size", "8.4 fl oz", "12 fl oz", "16.9 fl oz", "33.8 fl oz"), Option("scent", "lavender", "coconut", "unscented", "citrus", "mint")],
                    6, 38),
                new("Lipstick", "lipstick", "Beauty & Personal Care › Makeup › Lips › Lipstick",
                    ["Matte", "Velvet", "Satin", "Liquid", "Creamy", "Glossy"],
                    ["waterproof", "highly pigmented", "moisturizing formula", "smudge proof", "vitamin e"],
                    [Option("color", "ruby red", "nude pink", "berry", "coral", "mauve", "plum"), Option("size", "1 count", "3 count", "6 count")],
                    5, 30),
                new("Face Moisturizer", "face moisturizer", "Beauty & Personal Care › Skin Care › Face › Creams & Moisturizers › Face Moisturizers",
                    ["Hydrating", "Night", "Daily", "Vitamin C", "Oil Free", "Retinol"],
                    ["dry skin", "anti aging", "hyaluronic acid", "fine lines", "oily skin", "sensitive skin"],
                    [Option("size", "1.7 ounce", "2.5 ounce", "3.4 ounce")],
                    9, 65),
                new("Nail Polish", "nail polish", "Beauty & Personal Care › Foot, Hand & Nail Care › Nail Art & Polish › Nail Polish",
                    ["Gel", "Quick Dry", "Glitter", "Chrome", "Pastel"],
                    ["quick dry", "chip resistant", "non toxic", "high gloss", "nail art"],
                    [Option("color", "cherry red", "baby blue", "lilac", "black", "white", "gold glitter"), Option("size", "0.5 fl oz", "pack of 6", "pack of 12")],
                    4, 25),
                new("Makeup Brush Set", "makeup brushes", "Beauty & Personal Care › Tools & Accessories › Makeup Brushes & Tools › Brush Sets",
                    ["Professional", "Synthetic", "Kabuki", "Travel", "Foundation"],
                    ["soft bristles", "easy clean", "travel case", "high quality", "synthetic hair"],
                    [Option("color", "rose gold", "black", "pink", "champagne"), Option("size", "10 pieces", "15 pieces", "20 pieces")],
                    8, 40),
            ]),
        new("fashion",
            ["Northline", "Urban Fox", "Kestrel", "Meadow & Co", "Stride", "Vantage", "Solstice", "Harbor"],
            ["machine wash", "relaxed fit", "button closure", "long sleeve", "cotton blend", "elastic waist", "quality materials",
             "hand wash"],
            [
                new("Men's Running Shoes", "men's running shoes", "Clothing, Shoes & Jewelry › Men › Shoes › Athletic › Running",
                    ["Lightweight", "Breathable", "Trail", "Cushioned", "Mesh", "Road"],
                    ["rubber sole", "non slip", "memory foam", "arch support", "lace up", "breathable mesh"],
                    [Option("size", "7", "8", "8.5", "9", "9.5", "10", "11", "12"), Option("color", "black", "white", "navy blue", "grey", "red")],
                    25, 120),
                new("Women's Summer Dress", "women's dresses", "Clothing, Shoes & Jewelry › Women › Clothing › Dresses › Casual",
                    ["Floral", "Boho", "Maxi", "Wrap", "V Neck", "Sleeveless"],
                    ["v neck", "floral print", "high waist", "loose fit", "side pockets"],
                    [Option("color", "floral blue", "black", "wine red", "green", "pink", "yellow"), ApparelSizes],
                    18, 60),
                new("Men's Hoodie", "men's hoodies", "Clothing, Shoes & Jewelry › Men › Clothing › Fashion Hoodies & Sweatshirts",
                    ["Pullover", "Zip Up", "Fleece", "Heavyweight", "Athletic"],
                    ["fleece lined", "drawstring closure", "kangaroo pocket", "regular fit"],
                    [BasicColors, ApparelSizes],
                    20, 70),
                new("Women's Yoga Leggings", "women's leggings", "Clothing, Shoes & Jewelry › Women › Clothing › Active › Active Leggings",
                    ["High Waisted", "Seamless", "Capri", "Workout", "Butt Lift"],
                    ["tummy control", "high waist", "squat proof", "moisture wicking", "four way stretch"],
                    [Option("color", "black", "navy blue", "olive green", "burgundy", "heather grey"), ApparelSizes],
                    15, 50),
                new("Men's Watch", "men's watches", "Clothing, Shoes & Jewelry › Men › Watches › Wrist Watches",
                    ["Analog", "Chronograph", "Minimalist", "Sport", "Dress"],
                    ["water resistant", "stainless steel", "quartz movement", "leather band", "date display"],
                    [Option("color", "silver", "black", "gold", "two tone", "brown")],
                    20, 180),
            ]),
        new("grocery",
            ["Harvest Lane", "Good Acre", "Sunny Fields", "Pantry Co", "Wild Orchard", "Golden Spoon", "Natures Table", "Maple Ridge"],
            ["gluten free", "non gmo", "usda organic", "keto friendly", "low sugar", "kosher certified", "individually wrapped",
             "resealable bag"],
            [
                new("Dark Chocolate Bar", "dark chocolate", "Grocery & Gourmet Food › Candy & Chocolate › Chocolate › Chocolate Bars",
                    ["Sea Salt", "Almond", "Raspberry", "Mint", "Orange", "Espresso"],
                    ["dairy free", "fair trade", "high cocoa", "plant based", "no artificial flavors"],
                    [Option("flavor name", "sea salt", "almond", "raspberry", "mint", "orange"), Option("size", "pack of 4", "pack of 6", "pack of 12")],
                    5, 40),
                new("Ground Coffee", "ground coffee", "Grocery & Gourmet Food › Beverages › Coffee, Tea & Cocoa › Coffee › Ground Coffee",
                    ["Dark Roast", "Medium Roast", "French Roast", "Colombian", "Breakfast Blend", "Decaf"],
                    ["fair trade", "arabica beans", "low acid", "single origin", "freshly roasted"],
                    [Option("size", "12 ounce", "24 ounce", "2 pound"), Option("flavor name", "original", "hazelnut", "vanilla", "caramel")],
                    7, 45),
                new("Protein Bars", "protein bars", "Grocery & Gourmet Food › Snack Foods › Bars › Protein Bars",
                    ["Chocolate Peanut Butter", "Cookie Dough", "Birthday Cake", "Crunchy", "Chewy"],
                    ["high protein", "low carb", "plant based", "no added sugar", "high fiber"],
                    [Option("flavor name", "chocolate", "peanut butter", "cookie dough", "salted caramel"), Option("size", "12 count", "15 count", "24 count")],
                    10, 45),
                new("Herbal Tea", "herbal tea", "Grocery & Gourmet Food › Beverages › Coffee, Tea & Cocoa › Tea › Herbal",
                    ["Chamomile", "Peppermint", "Ginger", "Hibiscus", "Rooibos", "Lemon Balm"],
                    ["caffeine free", "tea bags", "natural ingredients", "loose leaf", "sleep support"],
                    [Option("flavor name", "chamomile", "peppermint", "ginger lemon", "hibiscus"), Option("size", "20 count", "40 count", "100 count")],
                    4, 30),
                new("Beef Jerky", "beef jerky", "Grocery & Gourmet Food › Meat & Seafood › Jerky & Dried Meats › Beef Jerky",
                    ["Teriyaki", "Original", "Peppered", "Sweet Spicy", "Hickory Smoked"],
                    ["high protein", "low fat", "ready to eat", "grass fed", "no preservatives"],
                    [Option("flavor name", "teriyaki", "original", "peppered", "sweet and spicy"), Option("size", "2.85 ounce", "10 ounce", "16 ounce")],
                    6, 40),
            ]),
        new("electronics",
            ["Voltix", "Auralis", "Nexora", "Brightwave", "Corelink", "Pulsar", "Zentech", "Skyline"],
            ["fast charging", "high definition", "easy to carry", "plug and play", "long battery life", "usb c", "water resistant",
             "easy install"],
            [
                new("Wireless Earbuds", "wireless earbuds", "Electronics › Headphones, Earbuds & Accessories › Headphones & Earbuds › Earbud Headphones",
                    ["True Wireless", "Sport", "Noise Cancelling", "Bluetooth", "Mini"],
                    ["noise cancelling", "charging case", "hands free", "stereo sound", "touch control"],
                    [Option("color", "black", "white", "navy blue", "pink")],
                    15, 150),
                new("USB C Charger", "usb c charger", "Electronics › Cell Phones & Accessories › Accessories › Chargers & Power Adapters › Wall Chargers",
                    ["Fast", "Dual Port", "GaN", "Compact", "Foldable"],
                    ["compact size", "dual port", "overheat protection", "travel adapter"],
                    [Option("size", "20w", "30w", "45w", "65w"), Option("color", "white", "black")],
                    8, 45),
                new("Bluetooth Speaker", "portable bluetooth speaker", "Electronics › Portable Audio & Video › Portable Speakers & Docks › Portable Bluetooth Speakers",
                    ["Waterproof", "Outdoor", "Mini", "Party", "Rugged"],
                    ["waterproof", "stereo sound", "built in microphone", "deep bass", "wireless bluetooth"],
                    [Option("color", "black", "blue", "red", "camo", "teal")],
                    18, 130),
                new("HDMI Cable", "hdmi cable", "Electronics › Computers & Accessories › Cables & Accessories › Cables & Interconnects › HDMI Cables",
                    ["High Speed", "4K", "8K", "Braided", "Gold Plated"],
                    ["high speed", "gold plated", "ultra hd", "braided cable", "ethernet support"],
                    [Option("size", "3 feet", "6 feet", "10 feet", "15 feet"), Packs],
                    5, 30),
                new("Security Camera", "security camera", "Electronics › Camera & Photo › Video Surveillance › Surveillance Cameras › Dome Cameras",
                    ["Indoor", "Outdoor", "WiFi", "Pan Tilt", "Night Vision"],
                    ["night vision", "motion detection", "two way audio", "cloud storage", "app control"],
                    [Packs],
                    20, 160),
            ]),
        new("furniture",
            ["Oakhaven", "Linden & Co", "Nordvik", "Casa Bella", "Hearthstone", "Alder Home", "Fernwood", "Modena"],
            ["easy assemble", "solid wood", "living room", "space saving", "storage space", "mid century", "metal legs", "easy clean"],
            [
                new("Accent Chair", "accent chair", "Home & Kitchen › Furniture › Living Room Furniture › Chairs",
                    ["Velvet", "Mid Century", "Upholstered", "Swivel", "Tufted"],
                    ["high density foam", "lumbar support", "wood legs", "thick cushion", "armrest"],
                    [Option("color", "grey", "navy blue", "green", "beige", "pink")],
                    60, 350),
                new("Bookshelf", "bookshelf", "Home & Kitchen › Furniture › Home Office Furniture › Bookcases",
                    ["Industrial", "Ladder", "Corner", "Open", "Tiered"],
                    ["metal frame", "engineered wood", "anti tip", "adjustable shelves", "home office"],
                    [Option("color", "rustic brown", "black", "white", "walnut"), Option("size", "3 tier", "4 tier", "5 tier")],
                    35, 220),
                new("TV Stand", "tv stand", "Home & Kitchen › Furniture › Living Room Furniture › TV & Media Furniture › Television Stands & Entertainment Centers",
                    ["Farmhouse", "Modern", "Corner", "Floating", "Rustic"],
                    ["cable management", "tempered glass", "sliding barn door", "led lights", "storage cabinet"],
                    [Option("color", "white", "black", "grey wash", "natural oak"), Option("size", "55 inch", "65 inch", "70 inch")],
                    70, 400),
                new("Storage Ottoman", "storage ottoman", "Home & Kitchen › Furniture › Living Room Furniture › Ottomans",
                    ["Folding", "Round", "Tufted", "Faux Leather", "Linen"],
                    ["faux leather", "foldable design", "padded seat", "footrest", "weight capacity"],
                    [Option("color", "grey", "brown", "black", "beige", "navy blue"), Option("size", "small", "medium", "large")],
                    25, 120),
                new("Office Chair", "office chair", "Home & Kitchen › Furniture › Home Office Furniture › Home Office Chairs › Home Office Desk Chairs",
                    ["Ergonomic", "Mesh", "High Back", "Executive", "Swivel"],
                    ["lumbar support", "adjustable height", "mesh back", "padded armrests", "rolling wheels"],
                    [Option("color", "black", "grey", "white", "blue")],
                    60, 300),
            ]),
        new("garden",
            ["GreenThumb", "Terra Verde", "Bloomfield", "Sunspire", "Rootwise", "Fieldcrest", "Willowbrook", "Petalworks"],
            ["weather resistant", "heavy duty", "rust resistant", "outdoor use", "uv resistant", "eco friendly", "durable construction",
             "easy install"],
            [
                new("Solar Pathway Lights", "solar pathway lights", "Patio, Lawn & Garden › Outdoor Décor › Outdoor Lighting › Pathway Lights",
                    ["LED", "Solar Powered", "Decorative", "Bright", "Glass"],
                    ["solar powered", "auto on off", "waterproof", "warm white", "long lasting"],
                    [Option("size", "4 pack", "8 pack", "12 pack"), Option("color", "warm white", "daylight", "multicolor")],
                    15, 70),
                new("Garden Hose", "expandable garden hose", "Patio, Lawn & Garden › Gardening & Lawn Care › Watering Equipment › Garden Hoses",
                    ["Expandable", "Lightweight", "Flexible", "Kink Free", "Retractable"],
                    ["leak proof", "kink free", "spray nozzle", "brass fittings", "lightweight design"],
                    [Option("size", "25 ft", "50 ft", "75 ft", "100 ft"), Option("color", "green", "blue", "black")],
                    15, 70),
                new("Raised Garden Bed", "raised garden bed", "Patio, Lawn & Garden › Gardening & Lawn Care › Pots, Planters & Container Accessories › Raised Beds",
                    ["Galvanized", "Cedar", "Metal", "Elevated", "Oval"],
                    ["galvanized steel", "easy assemble", "drainage holes", "vegetable garden", "open bottom"],
                    [Option("size", "4x2x1 ft", "6x3x1 ft", "8x4x1 ft"), Option("color", "silver", "dark green", "brown")],
                    30, 180),
                new("Bird Feeder", "bird feeder", "Patio, Lawn & Garden › Birding & Wildlife › Bird Feeders › Hanging Feeders",
                    ["Hanging", "Squirrel Proof", "Window", "Tube", "Wooden"],
                    ["squirrel proof", "easy clean", "large capacity", "easy fill", "wild birds"],
                    [Option("color", "green", "red", "black", "natural wood")],
                    12, 60),
                new("Pruning Shears", "pruning shears", "Patio, Lawn & Garden › Gardening & Lawn Care › Hand Tools › Pruning Shears",
                    ["Bypass", "Ratchet", "Titanium", "Ergonomic", "Professional"],
                    ["sharp blade", "comfortable grip", "safety lock", "stainless steel", "non stick coating"],
                    [Option("color", "red", "orange", "green", "black"), Option("item package quantity", "1 pack", "2 pack")],
                    8, 40),
            ]),
    ];

    /// <summary>Sentences that fill descriptions and bullet points; {0} is the product noun, lower case.</summary>
    public static string[] Fillers { get; } =
    [
        "makes a thoughtful gift for family and friends",
        "comes with a 30 day money back guarantee",
        "is built for everyday use at home or on the go",
        "is made with care and checked before it ships",
        "is backed by friendly customer service",
        "is designed to look good and work even better",
    ];

    /// <summary>Instruction openings in WebShop's crowd-sourced style; the noun phrase and attributes follow.</summary>
    public static string[] Openings { get; } =
    [
        "i need", "i am looking for", "i'm looking for", "i want", "find me", "i would like", "show me", "i'd like to buy",
        "get me", "i am searching for",
    ];
}
