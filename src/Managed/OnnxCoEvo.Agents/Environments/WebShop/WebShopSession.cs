using System.Text.RegularExpressions;

namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>
/// One WebShop episode in text mode, following <c>WebAgentTextEnv.step</c> and <c>SimServer.receive</c>
/// (environments.md §1.1): actions match <c>(.+)\[(.+)\]</c> with the argument lower-cased; <c>search[...]</c> works on
/// every page; <c>click[...]</c> must name one of the page's clickables (and not "search"); anything else leaves the
/// page as it is with reward 0. Only "Buy Now" ends the episode, with WebShop's reward.
/// </summary>
public sealed partial class WebShopSession(WebShopCatalog catalog) : IEnvironmentSession
{
    private readonly WebShopCatalog _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
    private readonly Dictionary<string, string> _selectedOptions = new(StringComparer.Ordinal);
    private WebShopGoal? _goal;
    private WebShopPage? _page;
    private IReadOnlyList<WebShopProduct> _results = [];
    private int _resultsPage;
    private WebShopProduct? _product;
    private bool _done;

    public EnvironmentTask? Task { get; private set; }

    /// <summary>The goal of the current task (null before the first reset).</summary>
    public WebShopGoal? Goal => _goal;

    /// <summary>The page shown now (null before the first reset).</summary>
    public WebShopPage? Page => _page;

    /// <summary>The options chosen on the current item page: group name -> value, as WebShop's session keeps them.</summary>
    public IReadOnlyDictionary<string, string> SelectedOptions => _selectedOptions;

    public ValueTask<string> ResetAsync(EnvironmentTask task, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (task.Index < 0 || task.Index >= _catalog.Goals.Count)
            throw new ArgumentOutOfRangeException(nameof(task), task.Index, $"webshop catalog {_catalog.Source} has goals 0..{_catalog.Goals.Count - 1}");
        Task = task;
        _goal = _catalog.Goals[task.Index];
        _done = false;
        ShowSearchPage();
        return ValueTask.FromResult(_page!.Text);
    }

    public ValueTask<StepResult> StepAsync(string action, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(action);
        if (Task is null || _page is null || _goal is null)
            throw new InvalidOperationException("webshop: step before reset");
        if (_done)
            throw new InvalidOperationException($"webshop: task {Task.Id} has finished (Buy Now was clicked); reset before stepping again");

        Match match = ActionPattern().Match(action);
        if (!match.Success)
            return NoOp();
        string name = match.Groups[1].Value;
        string argument = match.Groups[2].Value.ToLowerInvariant();
        if (name == "search")
        {
            Search(argument);
            return Show();
        }
        if (name != "click" || argument == "search" || _page.Target(argument) is not { } target)
            return NoOp();
        return Click(argument, target);
    }

    public ValueTask<string> ObservationAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_page?.Text ?? throw new InvalidOperationException("webshop: no observation before reset"));

    public ValueTask<ActionSpace> AvailableActionsAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_page is null
            ? throw new InvalidOperationException("webshop: no actions before reset")
            : new ActionSpace(_page.HasSearchBar, _page.Clickables));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private ValueTask<StepResult> Click(string key, WebShopClickTarget target)
    {
        switch (target.Kind)
        {
            case WebShopClickKind.Product:
                _product = _catalog.FindProduct(target.Value)
                    ?? throw new InvalidOperationException($"webshop: results list asin '{target.Value}' that the catalog {_catalog.Source} lacks");
                ShowItemPage();
                return Show();
            case WebShopClickKind.Option:
                _selectedOptions[target.Group!] = key;
                ShowItemPage();
                return Show();
        }
        switch (target.Value)
        {
            case WebShopPages.BuyNow:
                return Buy();
            case WebShopPages.BackToSearch:
                ShowSearchPage();
                break;
            case WebShopPages.NextPage when _page!.Kind == WebShopPageKind.Results:
                ShowResultsPage(_resultsPage + 1);
                break;
            case WebShopPages.PreviousPage when _page!.Kind == WebShopPageKind.Results:
                ShowResultsPage(_resultsPage - 1);
                break;
            case WebShopPages.PreviousPage when _page!.Kind == WebShopPageKind.Item:
                // Back to the results page the item was opened from; WebShop's results handler clears the options.
                ShowResultsPage(_resultsPage);
                break;
            case WebShopPages.PreviousPage:
                ShowItemPage();
                break;
            case WebShopPages.Description:
                ShowSubPage(WebShopPageKind.Description);
                break;
            case WebShopPages.Features:
                ShowSubPage(WebShopPageKind.Features);
                break;
            case WebShopPages.Reviews:
                ShowSubPage(WebShopPageKind.Reviews);
                break;
            default:
                return NoOp();
        }
        return Show();
    }

    private ValueTask<StepResult> Buy()
    {
        WebShopProduct product = _product!;
        WebShopRewardBreakdown breakdown = WebShopReward.Compute(_goal!, product, _selectedOptions, product.Price);
        _done = true;
        _page = WebShopPages.Done(product.Asin, _selectedOptions, breakdown.Reward);
        return ValueTask.FromResult(new StepResult(_page.Text, breakdown.Reward, true, breakdown.ToInfo()));
    }

    private void Search(string keywords)
    {
        _results = _catalog.Search.Search(keywords, WebShopPages.SearchResultCount);
        ShowResultsPage(1);
    }

    private void ShowSearchPage()
    {
        _results = [];
        _resultsPage = 0;
        _product = null;
        _selectedOptions.Clear();
        _page = WebShopPages.Search(_goal!.InstructionText);
    }

    private void ShowResultsPage(int page)
    {
        _resultsPage = page;
        _product = null;
        _selectedOptions.Clear();
        _page = WebShopPages.Results(_goal!.InstructionText, _results, page);
    }

    private void ShowItemPage() => _page = WebShopPages.Item(_goal!.InstructionText, _product!);

    private void ShowSubPage(WebShopPageKind kind) => _page = WebShopPages.SubPage(_goal!.InstructionText, _product!, kind);

    private ValueTask<StepResult> Show() => ValueTask.FromResult(new StepResult(_page!.Text, 0, false));

    private ValueTask<StepResult> NoOp() => Show();

    /// <summary>WebShop's <c>parse_action</c>: <c>re.match(r'(.+)\[(.+)\]')</c>, anchored at the start only, greedy.</summary>
    [GeneratedRegex(@"^(.+)\[(.+)\]", RegexOptions.CultureInvariant)]
    private static partial Regex ActionPattern();
}
