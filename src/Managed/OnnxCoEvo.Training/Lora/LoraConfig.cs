using OnnxCoEvo.Core.Models;

namespace OnnxCoEvo.Training.Lora;

/// <summary>
/// LoRA on the linear layers of a Llama-family model: y = x W^T + b + scaling * (x A^T) B^T with A [rank, in] and
/// B [out, rank]. PEFT's conventions: A starts Kaiming-uniform (bound 1/sqrt(in)), B starts at zero so a fresh
/// adapter changes nothing; scaling = alpha / rank, or alpha / sqrt(rank) with rsLoRA. No dropout (the
/// reference backend is deterministic; PEFT's lora_dropout is written as 0).
/// </summary>
public sealed record LoraConfig
{
    /// <summary>The seven projections of a Llama block, in PEFT's module names.</summary>
    public static IReadOnlyList<string> AllTargetModules { get; } =
        ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    public int Rank { get; init; } = 16;

    public double Alpha { get; init; } = 32;

    public bool UseRsLora { get; init; }

    /// <summary>Subset of <see cref="AllTargetModules"/>; default all seven.</summary>
    public IReadOnlyList<string> TargetModules { get; init; } = AllTargetModules;

    public float Scaling => (float)(UseRsLora ? Alpha / Math.Sqrt(Rank) : Alpha / Rank);

    public bool Targets(string moduleName) => TargetModules.Contains(moduleName);

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad field.</summary>
    public void Validate()
    {
        if (Rank < 1)
            throw new ArgumentException($"LoRA rank must be >= 1, is {Rank}");
        if (!double.IsFinite(Alpha) || Alpha <= 0)
            throw new ArgumentException($"LoRA alpha must be finite and > 0, is {Alpha}");
        if (TargetModules.Count == 0)
            throw new ArgumentException("LoRA target modules must not be empty");
        foreach (string m in TargetModules)
            if (!AllTargetModules.Contains(m))
                throw new ArgumentException($"LoRA target module '{m}' is not one of {string.Join(", ", AllTargetModules)}");
        if (TargetModules.Distinct().Count() != TargetModules.Count)
            throw new ArgumentException($"LoRA target modules repeat a name: {string.Join(", ", TargetModules)}");
    }

    /// <summary>
    /// Every LoRA factor this config adds to <paramref name="model"/>, with its shape: layer by layer, the targeted modules
    /// in <see cref="AllTargetModules"/> order, A [r, in] then B [out, r], where [out, in] is the module weight's shape in
    /// <see cref="ModelConfig.TensorLayout"/>. The one layout the model, checkpoints and PEFT files share.
    /// </summary>
    public IReadOnlyList<(string Name, int[] Shape)> FactorLayout(ModelConfig model)
    {
        ArgumentNullException.ThrowIfNull(model);
        Validate();
        var weightShapes = model.TensorLayout().ToDictionary(t => t.Name, t => t.Shape, StringComparer.Ordinal);
        var layout = new List<(string, int[])>(2 * model.NumHiddenLayers * TargetModules.Count);
        for (int layer = 0; layer < model.NumHiddenLayers; layer++)
        {
            foreach (string module in AllTargetModules.Where(Targets))
            {
                string path = ModulePath(layer, module);
                long[] weight = weightShapes[path + ".weight"]; // [out, in]
                layout.Add((LoraAName(path), [Rank, checked((int)weight[1])]));
                layout.Add((LoraBName(path), [checked((int)weight[0]), Rank]));
            }
        }
        return layout;
    }

    /// <summary>"q_proj" -> "self_attn", "gate_proj" -> "mlp": the block a target module lives in.</summary>
    public static string BlockOf(string moduleName) => moduleName switch
    {
        "q_proj" or "k_proj" or "v_proj" or "o_proj" => "self_attn",
        "gate_proj" or "up_proj" or "down_proj" => "mlp",
        _ => throw new ArgumentException($"'{moduleName}' is not a LoRA target module"),
    };

    /// <summary>"model.layers.{layer}.self_attn.q_proj": the state-dict prefix of a target module.</summary>
    public static string ModulePath(int layer, string moduleName) => $"model.layers.{layer}.{BlockOf(moduleName)}.{moduleName}";

    public static string LoraAName(string modulePath) => modulePath + ".lora_A.weight";

    public static string LoraBName(string modulePath) => modulePath + ".lora_B.weight";
}
