using System.Globalization;

namespace OnnxCoEvo.Agents.Environments;

/// <summary>
/// One task of an environment: an integer index (AgentGym's <c>data_idx</c>/<c>session_id</c>/<c>game</c>, stable for a
/// catalog seed) and the split it belongs to. Its id is <c>"&lt;environment&gt;_&lt;index&gt;"</c>, AgentGym's item id form.
/// </summary>
public sealed record EnvironmentTask(string Environment, int Index, string Split)
{
    public string Id => FormatId(Environment, Index);

    public static string FormatId(string environment, int index) =>
        string.Create(CultureInfo.InvariantCulture, $"{environment}_{index}");

    /// <summary>Parses "webshop_12" into ("webshop", 12); the index is the integer after the last underscore.</summary>
    public static bool TryParseId(string id, out string environment, out int index)
    {
        environment = "";
        index = -1;
        int cut = id.LastIndexOf('_');
        if (cut <= 0 || cut == id.Length - 1)
            return false;
        if (!int.TryParse(id.AsSpan(cut + 1), NumberStyles.None, CultureInfo.InvariantCulture, out index))
            return false;
        environment = id[..cut];
        return true;
    }

    public override string ToString() => $"{Id} ({Split})";
}

/// <summary>Split names every environment uses. Household adds "test_seen"/"test_unseen"; "test" is its unseen split (ETO's convention).</summary>
public static class EnvironmentSplits
{
    public const string Train = "train";
    public const string Test = "test";
    public const string TestSeen = "test_seen";
    public const string TestUnseen = "test_unseen";
}
