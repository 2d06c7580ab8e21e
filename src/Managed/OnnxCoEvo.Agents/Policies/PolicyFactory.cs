using OnnxCoEvo.Agents.Environments;

namespace OnnxCoEvo.Agents.Policies;

/// <summary>
/// Builds a policy from its command-line spec: "expert" (the environment's scripted expert). Model policies
/// ("onnx:DIR") join here when the ONNX generator lands.
/// </summary>
public static class PolicyFactory
{
    public const string Expert = "expert";

    public static IPolicy Create(string spec, IEnvironmentSuite suite, ExpertOptions expertOptions)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spec);
        return spec switch
        {
            Expert => suite.CreateExpert(expertOptions),
            _ => throw new ArgumentException($"unknown policy '{spec}'; known: {Expert}"),
        };
    }

    /// <summary>Parses "mode=rate,mode=rate" (the --failure-rates option).</summary>
    public static IReadOnlyDictionary<string, double> ParseFailureRates(string? text)
    {
        var rates = new Dictionary<string, double>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(text))
            return rates;
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = part.IndexOf('=');
            if (eq <= 0 || !double.TryParse(part.AsSpan(eq + 1), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double rate))
                throw new ArgumentException($"--failure-rates: expected mode=rate, got '{part}'");
            rates[part[..eq].Trim()] = rate;
        }
        return rates;
    }
}
