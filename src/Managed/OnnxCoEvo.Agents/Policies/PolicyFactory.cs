using OnnxCoEvo.Agents.Environments;

namespace OnnxCoEvo.Agents.Policies;

/// <summary>
/// Builds a policy from its command-line spec: "expert" (the environment's scripted expert) or "onnx:DIR" (an ONNX
/// decoder run with ONNX Runtime; DIR is a model directory with onnx/ inside or the onnx folder, see <see cref="OrtPolicy"/>).
/// </summary>
public static class PolicyFactory
{
    public const string Expert = "expert";

    public static IPolicy Create(string spec, IEnvironmentSuite suite, ExpertOptions expertOptions, ModelPolicyOptions? modelOptions = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spec);
        if (spec.StartsWith(OrtPolicy.SpecPrefix, StringComparison.Ordinal))
        {
            string path = spec[OrtPolicy.SpecPrefix.Length..];
            if (path.Length == 0) throw new ArgumentException($"policy '{spec}': name the model directory, e.g. onnx:models/tiny");
            return OrtPolicy.Open(path, suite.Protocol, modelOptions);
        }
        if (modelOptions?.Adapter is not null)
            throw new ArgumentException($"--adapter applies to model policies (onnx:DIR), not '{spec}'");
        return spec switch
        {
            Expert => suite.CreateExpert(expertOptions),
            _ => throw new ArgumentException($"unknown policy '{spec}'; known: {Expert}, {OrtPolicy.SpecPrefix}DIR"),
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
