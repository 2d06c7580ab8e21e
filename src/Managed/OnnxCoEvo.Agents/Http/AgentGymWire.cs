using OnnxCoEvo.Agents.Environments;

namespace OnnxCoEvo.Agents.Http;

/// <summary>
/// Paths and JSON field names of the AgentGym env-server protocol (reference: environments.md §3.1) and of our
/// <c>/coevo/*</c> extension, shared by <see cref="AgentGymServer"/> and <see cref="RemoteEnvironmentSuite"/> so both
/// ends spell them once.
/// </summary>
public static class AgentGymWire
{
    public const string Root = "/";
    public const string Create = "/create";
    public const string Reset = "/reset";
    public const string Step = "/step";
    public const string Close = "/close";
    public const string Observation = "/observation";
    public const string AvailableActions = "/available_actions";
    public const string ListEnvironments = "/list_envs";
    public const string InstructionText = "/instruction_text";
    public const string CoevoInfo = "/coevo/info";
    public const string CoevoTasks = "/coevo/tasks";

    public const string Action = "action";
    public const string Error = "error";
    public const string Reward = "reward";
    public const string Done = "done";

    // WebShop dialect.
    public const string WebShopKey = "env_idx";
    public const string WebShopTask = "session_id";
    public const string WebShopState = "state";
    public const string WebShopInfo = "info";
    public const string HasSearchBar = "has_search_bar";
    public const string Clickables = "clickables";

    // ALFWorld dialect.
    public const string AlfWorldKey = "id";
    public const string AlfWorldTask = "game";
    public const string AlfWorldObservation = "observation";
    public const string AlfWorldActions = "available_actions";

    // Our extension.
    public const string InfoEnvironment = "environment";
    public const string InfoDialect = "dialect";
    public const string InfoSplits = "splits";
    public const string Split = "split";
    public const string Indices = "indices";

    /// <summary>The field that names an environment instance: "env_idx" (WebShop) or "id" (ALFWorld).</summary>
    public static string KeyField(AgentGymDialect dialect) => dialect == AgentGymDialect.WebShop ? WebShopKey : AlfWorldKey;

    /// <summary>The /reset field that names the task: "session_id" (WebShop) or "game" (ALFWorld).</summary>
    public static string TaskField(AgentGymDialect dialect) => dialect == AgentGymDialect.WebShop ? WebShopTask : AlfWorldTask;

    /// <summary>"webshop" or "alfworld", as /coevo/info reports the dialect.</summary>
    public static string DialectName(AgentGymDialect dialect) => dialect == AgentGymDialect.WebShop ? "webshop" : "alfworld";

    public static bool TryParseDialect(string? name, out AgentGymDialect dialect)
    {
        dialect = name == "webshop" ? AgentGymDialect.WebShop : AgentGymDialect.AlfWorld;
        return name is "webshop" or "alfworld";
    }
}
