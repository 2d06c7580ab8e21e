using System.Collections.Concurrent;
using OnnxCoEvo.Agents.Policies;
using OnnxCoEvo.Agents.Protocol;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Models;

namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>
/// The scripted WebShop expert. It knows the goal (the catalog's goal of the task) and reads the pages it is shown;
/// each episode follows a <see cref="WebShopExpertPlan"/> drawn from (seed, task index, sample). A failure-free plan
/// searches with keywords that list the target, pages on until it is listed, opens it, sometimes reads its features or
/// description, clicks every goal option and buys, within the protocol's 10 steps. The failure modes bend single
/// decisions of that routine, so failed episodes keep correct stretches (a good search, the right product, options).
/// </summary>
public sealed class WebShopExpert : IPolicy
{
    /// <summary>
    /// Default rates per episode, tuned so that about 40% of the synthetic catalog's train episodes fail (reward below
    /// 1.0), near GPT-4's 35.6% WebShop win rate as a teacher's.
    /// </summary>
    public static IReadOnlyDictionary<string, double> DefaultFailureRates { get; } = new Dictionary<string, double>(StringComparer.Ordinal)
    {
        [WebShopExpertPlanner.VagueSearch] = 0.14,
        [WebShopExpertPlanner.WrongSearch] = 0.10,
        [WebShopExpertPlanner.WrongItem] = 0.12,
        [WebShopExpertPlanner.MissingOption] = 0.12,
        [WebShopExpertPlanner.OverBudget] = 0.15,
        [WebShopExpertPlanner.Dithering] = 0.20,
    };

    private readonly WebShopCatalog _catalog;
    private readonly WebShopExpertPlanner _planner;
    private readonly ConcurrentDictionary<long, Episode> _episodes = new();
    private readonly int _maxSteps = WebShopProtocol.MaxSteps;

    /// <param name="rates">The rate of every mode in <see cref="DefaultFailureRates"/> (e.g. from <see cref="ExpertOptions.Resolve"/>).</param>
    /// <param name="searchWithInstruction">See <see cref="ExpertOptions.SearchWithInstruction"/>.</param>
    public WebShopExpert(WebShopCatalog catalog, IReadOnlyDictionary<string, double> rates, ulong seed, bool searchWithInstruction = false)
    {
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        ArgumentNullException.ThrowIfNull(rates);
        foreach (string mode in DefaultFailureRates.Keys)
            if (!rates.TryGetValue(mode, out double rate) || !(rate >= 0 && rate <= 1))
                throw new ArgumentException($"webshop expert needs a rate in [0, 1] for failure mode '{mode}'", nameof(rates));
        _planner = new WebShopExpertPlanner(catalog, rates, seed, searchWithInstruction);
    }

    public string Name => "expert:webshop";

    /// <summary>The plan an episode of this task and sample follows (the same plan <see cref="ActAsync"/> uses).</summary>
    public WebShopExpertPlan PlanFor(int taskIndex, int sample = 0) => _planner.Plan(taskIndex, sample);

    public ValueTask<IReadOnlyList<PolicyTurn>> ActAsync(IReadOnlyList<PolicyRequest> batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var turns = new PolicyTurn[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            PolicyRequest request = batch[i];
            ChatMessage? lastUser = request.Conversation.LastOrDefault(m => m.Role == ChatRole.User)
                ?? throw new ArgumentException($"webshop expert: episode {request.EpisodeId} has no observation to act on", nameof(batch));
            Episode episode = _episodes.GetOrAdd(request.EpisodeId, _ => new Episode(_catalog, _planner.Plan(request.Task.Index, request.Sample), request.Sample));
            if (episode.Plan.Goal.Index != request.Task.Index || episode.Sample != request.Sample)
            {
                // An id reused for another task without EndEpisode: start that task's own plan rather than follow a stale one.
                episode = new Episode(_catalog, _planner.Plan(request.Task.Index, request.Sample), request.Sample);
                _episodes[request.EpisodeId] = episode;
            }
            int taken = Math.Max(0, request.Conversation.Count(m => m.Role == ChatRole.Assistant) - 1);
            WebShopPageView view = WebShopPageReader.Read(WebShopPageReader.StripPrefixes(lastUser.Content));
            (string thought, string action) = episode.Decide(view, taken, _maxSteps);
            turns[i] = new PolicyTurn(ReActParser.Format(thought, action));
        }
        return ValueTask.FromResult<IReadOnlyList<PolicyTurn>>(turns);
    }

    public void EndEpisode(long episodeId) => _episodes.TryRemove(episodeId, out _);

    public ValueTask DisposeAsync()
    {
        _episodes.Clear();
        return ValueTask.CompletedTask;
    }

    /// <summary>One episode's progress through its plan; decisions read the page shown and what was done so far.</summary>
    private sealed class Episode(WebShopCatalog catalog, WebShopExpertPlan plan, int sample)
    {
        public WebShopExpertPlan Plan => plan;
        public int Sample => sample;

        private readonly HashSet<string> _goalWords = WebShopText.ContentWords(plan.Goal.InstructionText);
        private readonly HashSet<string> _clickedOptions = new(StringComparer.Ordinal);
        private bool _searched;
        private bool _resultsMisled;
        private bool _searchedAgain;
        private bool _browsedNext;
        private bool _returnToPrevious;
        private bool _detailsRead;
        private int _viewsDone;
        private WebShopProduct? _product;

        public (string Thought, string Action) Decide(WebShopPageView view, int taken, int maxSteps)
        {
            var thoughts = new WebShopExpertThoughts(DeterministicRandom.DeriveSeed(plan.ThoughtSeed, "thought", (ulong)taken));
            return view.Kind switch
            {
                WebShopPageKind.Search => Search(ref thoughts),
                WebShopPageKind.Results => OnResults(view, taken, maxSteps, ref thoughts),
                WebShopPageKind.Item => OnItem(view, taken, maxSteps, ref thoughts),
                WebShopPageKind.Description or WebShopPageKind.Features or WebShopPageKind.Reviews =>
                    (thoughts.LeaveSubPage(), Click(WebShopPages.PreviousPage)),
                _ => (thoughts.Unexpected(), $"search[{plan.GoodQuery}]"),
            };
        }

        private (string, string) Search(ref WebShopExpertThoughts thoughts)
        {
            bool misled = !_searched && plan.FirstSearch != WebShopFirstSearch.Good;
            string keywords = misled ? plan.MisleadingQuery! : plan.GoodQuery;
            _searched = true;
            _resultsMisled = misled;
            _clickedOptions.Clear();
            _product = null;
            string thought = keywords == plan.Goal.InstructionText ? thoughts.SearchInstruction(plan.Goal.Query) : thoughts.Search(keywords, plan.Goal.Query);
            return (thought, $"search[{keywords}]");
        }

        private (string, string) OnResults(WebShopPageView view, int taken, int maxSteps, ref WebShopExpertThoughts thoughts)
        {
            _clickedOptions.Clear();
            _product = null;
            if (_returnToPrevious && view.HasPrevious)
            {
                _returnToPrevious = false;
                return (thoughts.ReturnToPreviousPage(), Click(WebShopPages.PreviousPage));
            }
            WebShopListing? target = view.Listings.FirstOrDefault(l => string.Equals(l.Asin, plan.Goal.Asin, StringComparison.OrdinalIgnoreCase));
            if (view.Listings.Count == 0)
                return (thoughts.SearchAgain(), Click(WebShopPages.BackToSearch));
            if (_resultsMisled)
            {
                if (plan.FirstSearch == WebShopFirstSearch.Wrong && plan.SearchesAgain && !_searchedAgain && target is null)
                {
                    _searchedAgain = true;
                    return (thoughts.SearchAgain(), Click(WebShopPages.BackToSearch));
                }
                return Open(BestLooking(view.Listings), ref thoughts);
            }
            if (target is not null)
            {
                if (plan.BrowsesNextPage && !_browsedNext && view.HasNext)
                {
                    _browsedNext = true;
                    _returnToPrevious = true;
                    return (thoughts.BrowseNextPage(), Click(WebShopPages.NextPage));
                }
                WebShopListing pick = plan.WrongItem ? Neighbour(view.Listings, target)
                    : plan.OverBudget ? Pricier(view.Listings, target) ?? target
                    : target;
                return Open(pick, ref thoughts);
            }
            // Paging costs a step; go on only while a purchase with every option still fits in the budget.
            int stepsAfterPaging = taken + 1 + 1 + plan.Goal.GoalOptions.Count + 1;
            if (view.HasNext && stepsAfterPaging <= maxSteps)
                return (thoughts.NextPage(), Click(WebShopPages.NextPage));
            return Open(BestLooking(view.Listings), ref thoughts);
        }

        private (string, string) OnItem(WebShopPageView view, int taken, int maxSteps, ref WebShopExpertThoughts thoughts)
        {
            _product ??= catalog.Products.FirstOrDefault(p => p.Title == view.ItemTitle);
            if (_product is null)
                return (thoughts.Buy(hasOptions: false), Click(WebShopPages.BuyNow));
            int left = maxSteps - taken;
            bool watchesBudget = plan.ExtraViews == 0;
            if (watchesBudget && left <= 1)
                return (thoughts.Buy(_clickedOptions.Count > 0), Click(WebShopPages.BuyNow));

            List<(string Group, string Value)> pending = PendingOptions(_product);
            if (plan.ReadsDetails is { } details && !_detailsRead && left >= 2 + pending.Count + 1)
            {
                _detailsRead = true;
                return (thoughts.ReadDetails(details), Click(details == WebShopPageKind.Features ? WebShopPages.Features : WebShopPages.Description));
            }
            if (pending.Count > 0)
            {
                (string group, string value) = pending[0];
                _clickedOptions.Add(value);
                return (thoughts.SelectOption(group, value), $"click[{value}]");
            }
            if (_viewsDone < plan.ExtraViews)
            {
                WebShopPageKind kind = (_viewsDone % 3) switch { 0 => WebShopPageKind.Reviews, 1 => WebShopPageKind.Features, _ => WebShopPageKind.Description };
                _viewsDone++;
                string button = kind switch { WebShopPageKind.Reviews => WebShopPages.Reviews, WebShopPageKind.Features => WebShopPages.Features, _ => WebShopPages.Description };
                return (thoughts.ExtraView(kind), Click(button));
            }
            return (thoughts.Buy(_clickedOptions.Count > 0), Click(WebShopPages.BuyNow));
        }

        /// <summary>The goal options this product offers and the expert has not clicked yet (less the one it skips).</summary>
        private List<(string Group, string Value)> PendingOptions(WebShopProduct product)
        {
            var pending = new List<(string, string)>();
            foreach (string wanted in plan.Goal.GoalOptions)
            {
                if (wanted == plan.SkippedOption)
                    continue;
                if (MatchOption(product, wanted) is { } match && !_clickedOptions.Contains(match.Value))
                    pending.Add(match);
            }
            return pending;
        }

        /// <summary>The product's value for a goal option: the same text, else one containing the other, else the most similar.</summary>
        private static (string Group, string Value)? MatchOption(WebShopProduct product, string wanted)
        {
            (string, string)? contained = null;
            (string, string)? similar = null;
            double bestSimilarity = 0.5;
            foreach (WebShopOptionGroup group in product.Options)
                foreach (string value in group.Values)
                {
                    if (string.Equals(value, wanted, StringComparison.OrdinalIgnoreCase))
                        return (group.Name, value);
                    if (contained is null && (value.Contains(wanted, StringComparison.OrdinalIgnoreCase) || wanted.Contains(value, StringComparison.OrdinalIgnoreCase)))
                        contained = (group.Name, value);
                    double similarity = WebShopText.Similarity(value, wanted);
                    if (similarity > bestSimilarity)
                        (similar, bestSimilarity) = ((group.Name, value), similarity);
                }
            return contained ?? similar;
        }

        private (string, string) Open(WebShopListing listing, ref WebShopExpertThoughts thoughts)
        {
            _product = catalog.FindProduct(listing.Asin);
            _clickedOptions.Clear();
            return (thoughts.Open(listing, plan.Goal.Query), Click(listing.Asin));
        }

        /// <summary>
        /// A quick reader's pick: the listing whose title shares the most words with the instruction, one within the
        /// price limit before one above it, the earliest on ties.
        /// </summary>
        private WebShopListing BestLooking(IReadOnlyList<WebShopListing> listings)
        {
            WebShopListing best = listings[0];
            double bestScore = -1;
            foreach (WebShopListing listing in listings)
            {
                double score = WebShopText.Overlap(listing.Title, _goalWords) + (listing.LowestPrice <= plan.Goal.PriceUpper ? 0.5 : 0);
                if (score > bestScore)
                    (best, bestScore) = (listing, score);
            }
            return best;
        }

        /// <summary>The other listing that looks most like the target (nearest in the list on ties).</summary>
        private static WebShopListing Neighbour(IReadOnlyList<WebShopListing> listings, WebShopListing target)
        {
            int at = IndexOf(listings, target);
            WebShopListing? best = null;
            double bestScore = double.NegativeInfinity;
            for (int i = 0; i < listings.Count; i++)
            {
                if (i == at)
                    continue;
                double score = WebShopText.Similarity(listings[i].Title, target.Title) - 0.001 * Math.Abs(i - at);
                if (score > bestScore)
                    (best, bestScore) = (listings[i], score);
            }
            return best ?? target;
        }

        /// <summary>A listed product like the target but priced above the goal's limit (the most similar one), if any.</summary>
        private WebShopListing? Pricier(IReadOnlyList<WebShopListing> listings, WebShopListing target)
        {
            WebShopListing? best = null;
            double bestScore = 0.25;
            foreach (WebShopListing listing in listings)
            {
                if (ReferenceEquals(listing, target) || listing.LowestPrice <= plan.Goal.PriceUpper)
                    continue;
                double score = WebShopText.Similarity(listing.Title, target.Title);
                if (score > bestScore)
                    (best, bestScore) = (listing, score);
            }
            return best;
        }

        private static int IndexOf(IReadOnlyList<WebShopListing> listings, WebShopListing listing)
        {
            for (int i = 0; i < listings.Count; i++)
                if (ReferenceEquals(listings[i], listing))
                    return i;
            return -1;
        }

        private static string Click(string value) => $"click[{value}]";
    }
}
