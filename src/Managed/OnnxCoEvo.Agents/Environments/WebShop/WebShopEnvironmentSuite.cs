using OnnxCoEvo.Agents.Policies;
using OnnxCoEvo.Agents.Protocol;

namespace OnnxCoEvo.Agents.Environments.WebShop;

/// <summary>
/// The WebShop environment over one catalog: a task per goal (index = goal index, AgentGym's session id), split into
/// train and test by the catalog's index lists; text-mode sessions; the scripted expert of <see cref="WebShopExpert"/>.
/// </summary>
public sealed class WebShopEnvironmentSuite : IEnvironmentSuite
{
    private readonly EnvironmentTask[] _train;
    private readonly EnvironmentTask[] _test;
    private readonly EnvironmentTask[] _byIndex;

    public WebShopEnvironmentSuite(WebShopCatalog catalog)
    {
        Catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _byIndex = new EnvironmentTask[catalog.Goals.Count];
        foreach (int index in catalog.TrainGoalIndices)
            _byIndex[index] = new EnvironmentTask(Name, index, EnvironmentSplits.Train);
        foreach (int index in catalog.TestGoalIndices)
            _byIndex[index] = new EnvironmentTask(Name, index, EnvironmentSplits.Test);
        _train = catalog.TrainGoalIndices.Select(i => _byIndex[i]).ToArray();
        _test = catalog.TestGoalIndices.Select(i => _byIndex[i]).ToArray();
    }

    public WebShopCatalog Catalog { get; }

    public string Name => WebShopProtocol.EnvironmentName;

    public ReActProtocol Protocol => WebShopProtocol.Instance;

    public AgentGymDialect Dialect => AgentGymDialect.WebShop;

    public IReadOnlyList<string> Splits { get; } = [EnvironmentSplits.Train, EnvironmentSplits.Test];

    public IReadOnlyDictionary<string, double> ExpertFailureModes => WebShopExpert.DefaultFailureRates;

    public IReadOnlyList<EnvironmentTask> Tasks(string split) => split switch
    {
        EnvironmentSplits.Train => _train,
        EnvironmentSplits.Test => _test,
        _ => throw new ArgumentException($"webshop has no split '{split}'; known: {string.Join(", ", Splits)}", nameof(split)),
    };

    public EnvironmentTask Task(int index) =>
        index >= 0 && index < _byIndex.Length
            ? _byIndex[index]
            : throw new ArgumentOutOfRangeException(nameof(index), index, $"webshop catalog {Catalog.Source} has tasks 0..{_byIndex.Length - 1}");

    public IEnvironmentSession CreateSession() => new WebShopSession(Catalog);

    public IPolicy CreateExpert(ExpertOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new WebShopExpert(Catalog, options.Resolve(Name, WebShopExpert.DefaultFailureRates), options.Seed,
            options.SearchWithInstruction);
    }
}
