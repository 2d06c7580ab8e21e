using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Json;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.SafeTensors;
using OnnxCoEvo.Training.Checkpoints;
using OnnxCoEvo.Training.Lora;
using OnnxCoEvo.Training.Parameters;

namespace OnnxCoEvo.Training.Peft;

/// <summary>
/// A LoRA adapter as a Hugging Face PEFT folder: adapter_config.json and adapter_model.safetensors, loadable with
/// PeftModel.from_pretrained. Tensors are held under this toolkit's names ("model.layers.0.self_attn.q_proj.lora_A.weight",
/// A [r, in], B [out, r]); the file adds PEFT's "base_model.model." prefix.
/// </summary>
public sealed partial record PeftAdapter
{
    public const string ConfigFileName = "adapter_config.json";
    public const string WeightsFileName = "adapter_model.safetensors";
    public const string PeftNamePrefix = "base_model.model.";

    public required LoraConfig Config { get; init; }

    /// <summary>adapter_config.json's base_model_name_or_path (a hub id or a path), or null.</summary>
    public string? BaseModelNameOrPath { get; init; }

    /// <summary>The LoRA factors under internal names, in <see cref="Layout"/> order.</summary>
    public required IReadOnlyList<NamedTensor> Tensors { get; init; }

    [GeneratedRegex(@"^model\.layers\.(\d+)\.(self_attn|mlp)\.([a-z_]+)\.lora_(A|B)\.weight$", RegexOptions.CultureInvariant)]
    private static partial Regex FactorName();

    /// <summary>Every factor the adapter holds for <paramref name="model"/> (<see cref="LoraConfig.FactorLayout"/>), shapes as safetensors writes them.</summary>
    public static IReadOnlyList<(string Name, long[] Shape)> Layout(LoraConfig config, ModelConfig model)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.FactorLayout(model).Select(f => (f.Name, TensorShape.ToLong(f.Shape))).ToList();
    }

    public static string ToPeftName(string name) => PeftNamePrefix + name;

    /// <summary>
    /// Writes the folder whole: both files go into a staging sibling that is then renamed into place, so a failed save
    /// never leaves a folder that reads as an adapter. An existing folder is replaced only with <paramref name="overwrite"/>,
    /// and only if it is a PEFT adapter folder (or empty).
    /// </summary>
    public void Save(string directory, bool overwrite = false)
    {
        CheckFactors();
        string target = Path.GetFullPath(directory);
        if (Directory.Exists(target))
        {
            if (!overwrite)
                throw new IOException($"{target} already exists; pass overwrite to replace the adapter in it");
            if (!File.Exists(Path.Combine(target, ConfigFileName)) && Directory.EnumerateFileSystemEntries(target).Any())
                throw new IOException($"{target} holds files but no {ConfigFileName}; it is not replaced");
        }
        string staging = AtomicDirectory.CreateStaging(target);
        try
        {
            ExpectedTensors.Write(Path.Combine(staging, WeightsFileName),
                Tensors.Select(t => new NamedTensor(ToPeftName(t.Name), t.Shape, t.Values)).ToList(),
                new Dictionary<string, string> { ["format"] = "pt" });
            AtomicFile.WriteAllText(Path.Combine(staging, ConfigFileName), ConfigJson());
            AtomicDirectory.Replace(staging, target);
        }
        catch
        {
            AtomicDirectory.DeleteQuietly(staging);
            throw;
        }
    }

    // Every factor must name a targeted module and carry the rank; the model's dims are checked on load.
    private void CheckFactors()
    {
        Config.Validate();
        if (Tensors.Count == 0)
            throw new ArgumentException("a LoRA adapter needs at least one factor");
        foreach (NamedTensor tensor in Tensors)
        {
            Match match = FactorName().Match(tensor.Name);
            if (!match.Success || !Config.Targets(match.Groups[3].Value))
                throw new ArgumentException($"tensor '{tensor.Name}' is not a LoRA factor of a target module ({string.Join(", ", Config.TargetModules)})");
            bool isA = match.Groups[4].Value == "A";
            if (tensor.Shape.Length != 2 || tensor.Shape[isA ? 0 : 1] != Config.Rank)
                throw new ArgumentException($"tensor '{tensor.Name}' has shape {TensorShape.Format(tensor.Shape)}; a rank-{Config.Rank} lora_{(isA ? "A is [r, in]" : "B is [out, r]")}");
        }
    }

    /// <summary>adapter_config.json as PEFT writes it (keys sorted, two-space indent).</summary>
    public string ConfigJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            if (BaseModelNameOrPath is null)
                json.WriteNull("base_model_name_or_path");
            else
                json.WriteString("base_model_name_or_path", BaseModelNameOrPath);
            json.WriteString("bias", "none");
            json.WriteBoolean("fan_in_fan_out", false);
            json.WriteBoolean("inference_mode", true);
            json.WriteBoolean("init_lora_weights", true);
            // PEFT types lora_alpha as int: write an integral alpha without a fraction.
            json.WritePropertyName("lora_alpha");
            json.WriteRawValue(double.IsInteger(Config.Alpha) && Math.Abs(Config.Alpha) < 1e15
                ? Config.Alpha.ToString("F0", CultureInfo.InvariantCulture)
                : Config.Alpha.ToString("R", CultureInfo.InvariantCulture));
            json.WritePropertyName("lora_dropout");
            json.WriteRawValue("0.0");
            json.WriteNull("modules_to_save");
            json.WriteString("peft_type", "LORA");
            json.WriteNumber("r", Config.Rank);
            json.WriteNull("revision");
            json.WriteStartArray("target_modules");
            foreach (string module in Config.TargetModules)
                json.WriteStringValue(module);
            json.WriteEndArray();
            json.WriteString("task_type", "CAUSAL_LM");
            json.WriteBoolean("use_rslora", Config.UseRsLora);
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    /// <summary>
    /// Reads a PEFT LoRA folder for <paramref name="model"/>: every target module of every layer must have both factors
    /// with the shapes the model and rank give, and nothing else may be in the file. F16 and BF16 are converted to fp32.
    /// Faults are <see cref="DataFormatException"/>s naming the file and the field or tensor.
    /// </summary>
    public static PeftAdapter Load(string directory, ModelConfig model)
    {
        ArgumentNullException.ThrowIfNull(model);
        string configPath = Path.Combine(directory, ConfigFileName);
        (LoraConfig config, string? baseModel) = ParseConfig(File.ReadAllBytes(configPath), configPath);

        IReadOnlyList<(string Name, int[] Shape)> layout = config.FactorLayout(model);
        var expected = new ExpectedTensors(layout.Select(t => (ToPeftName(t.Name), TensorShape.ToLong(t.Shape))).ToList())
        {
            AcceptsHalfPrecision = true,
            DescribeUnknown = name => DescribeUnknown(name, config, model),
            MissingNote = $": every target module ({string.Join(", ", config.TargetModules)}) of every layer needs lora_A and lora_B",
            ShapeNote = $" (r = {config.Rank} in {ConfigFileName})",
        };
        float[][] values = expected.ReadFrom(Path.Combine(directory, WeightsFileName));
        return new PeftAdapter
        {
            Config = config,
            BaseModelNameOrPath = baseModel,
            Tensors = layout.Select((t, i) => new NamedTensor(t.Name, t.Shape, values[i])).ToList(),
        };
    }

    private static string DescribeUnknown(string peftName, LoraConfig config, ModelConfig model)
    {
        Match match = peftName.StartsWith(PeftNamePrefix, StringComparison.Ordinal) ? FactorName().Match(peftName[PeftNamePrefix.Length..]) : Match.Empty;
        if (!match.Success)
            return $"is not a LoRA factor; expected {PeftNamePrefix}model.layers.{{i}}.{{self_attn|mlp}}.{{module}}.lora_A.weight or .lora_B.weight";
        string module = match.Groups[3].Value;
        if (!LoraConfig.AllTargetModules.Contains(module) || LoraConfig.BlockOf(module) != match.Groups[2].Value)
            return $"names module {match.Groups[2].Value}.{module}, which is not a LoRA target of this model ({string.Join(", ", LoraConfig.AllTargetModules)})";
        if (!config.Targets(module))
            return $"is for {module}, which is not among {ConfigFileName} target_modules ({string.Join(", ", config.TargetModules)})";
        return $"is for layer {match.Groups[1].Value}; the model has {model.NumHiddenLayers} layers";
    }

    /// <summary>Reads adapter_config.json, refusing the PEFT options this toolkit does not implement.</summary>
    public static (LoraConfig Config, string? BaseModelNameOrPath) ParseConfig(ReadOnlyMemory<byte> utf8Json, string filePath = ConfigFileName)
    {
        var source = new JsonSource(filePath) { Style = JsonStyle.Config };
        using JsonDocument document = source.Parse(utf8Json, JsonSyntaxErrorFormat.FileByte);
        LocatedJson root = source.Root(document).ExpectKind(JsonValueKind.Object);

        RequireValue(root, "peft_type", "LORA", required: true);
        RequireValue(root, "task_type", "CAUSAL_LM", required: false);
        RequireValue(root, "bias", "none", required: false);
        if (root.OptionalBoolean("fan_in_fan_out") == true)
            throw root.FieldError("fan_in_fan_out", "true is not supported (weights are stored [out, in])");
        if (root.OptionalBoolean("use_dora") == true)
            throw root.FieldError("use_dora", "DoRA is not supported");
        if (root.Optional("modules_to_save") is { Kind: JsonValueKind.Array } saved && saved.Element.GetArrayLength() > 0)
            throw root.FieldError("modules_to_save", "fully trained extra modules are not supported");
        if (root.Optional("layers_to_transform") is not null)
            throw root.FieldError("layers_to_transform", "is not supported: every layer carries the adapter");
        foreach (string pattern in new[] { "rank_pattern", "alpha_pattern" })
            if (root.OptionalObject(pattern) is { } map && map.Element.EnumerateObject().Any())
                throw root.FieldError(pattern, "per-module ranks and alphas are not supported");

        int rank = root.RequiredInt32("r");
        if (rank < 1)
            throw root.FieldError("r", $"is {rank}; must be >= 1");
        double alpha = root.RequiredDouble("lora_alpha");
        if (!(alpha > 0))
            throw root.FieldError("lora_alpha", $"is {alpha}; must be > 0");
        LocatedJson targets = root.Required("target_modules");
        if (targets.Kind == JsonValueKind.String)
            throw targets.Error("is a regular expression; list the modules instead");
        var config = new LoraConfig
        {
            Rank = rank,
            Alpha = alpha,
            UseRsLora = root.OptionalBoolean("use_rslora") ?? false,
            TargetModules = root.StringList("target_modules"),
        };
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw targets.Error(e.Message);
        }
        return (config, root.OptionalString("base_model_name_or_path"));
    }

    private static void RequireValue(LocatedJson root, string field, string expected, bool required)
    {
        string? value = required ? root.RequiredString(field) : root.OptionalString(field);
        if (value is not null && value != expected)
            throw root.FieldError(field, $"is \"{value}\"; only \"{expected}\" is supported");
    }

    /// <summary>Copies every factor into the parameter of the same name; throws <see cref="ArgumentException"/> when one is missing or shaped differently.</summary>
    public void ApplyTo(ParameterSet parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var targets = Tensors.Select(t => (Tensor: t, Parameter: RequireParameter(parameters, t.Name, t.Shape))).ToList();
        foreach ((NamedTensor tensor, Parameter parameter) in targets)
            tensor.Values.CopyTo(parameter.Value, 0);
    }

    /// <summary>The adapter held by <paramref name="parameters"/> (copied): every factor of <see cref="Layout"/>.</summary>
    public static PeftAdapter FromParameters(ParameterSet parameters, LoraConfig config, ModelConfig model, string? baseModelNameOrPath = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var tensors = new List<NamedTensor>();
        foreach ((string name, int[] shape) in config.FactorLayout(model))
            tensors.Add(new NamedTensor(name, shape, (float[])RequireParameter(parameters, name, shape).Value.Clone()));
        return new PeftAdapter { Config = config, BaseModelNameOrPath = baseModelNameOrPath, Tensors = tensors };
    }

    private static Parameter RequireParameter(ParameterSet parameters, string name, int[] shape)
    {
        if (!parameters.TryGet(name, out Parameter parameter))
            throw new ArgumentException($"the parameter set has no LoRA factor '{name}'");
        if (!parameter.Shape.AsSpan().SequenceEqual(shape))
            throw new ArgumentException($"LoRA factor '{name}' is {TensorShape.Format(parameter.Shape)} in the parameter set but {TensorShape.Format(shape)} in the adapter");
        return parameter;
    }
}
