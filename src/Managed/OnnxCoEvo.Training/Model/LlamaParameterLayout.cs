using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.SafeTensors;
using OnnxCoEvo.Training.Lora;
using OnnxCoEvo.Training.Parameters;

namespace OnnxCoEvo.Training.Model;

/// <summary>
/// The parameters a Llama-family model expects (HF names and shapes from <see cref="ModelConfig.TensorLayout"/>, plus
/// the LoRA factors of every targeted module), and the three ways a set comes to hold them: loading a model
/// directory, adding a fresh adapter, and checking a set that was built elsewhere.
/// </summary>
internal static class LlamaParameterLayout
{
    public static IEnumerable<(string Name, int[] Shape)> Expected(ModelConfig config, LoraConfig? lora)
    {
        IEnumerable<(string, int[])> baseTensors = config.TensorLayout().Select(t => (t.Name, t.Shape.Select(d => checked((int)d)).ToArray()));
        return lora is null ? baseTensors : baseTensors.Concat(lora.FactorLayout(config));
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first missing, misshapen or unexpected tensor.</summary>
    public static void Validate(ModelConfig config, ParameterSet parameters, LoraConfig? lora)
    {
        var expected = new HashSet<string>(StringComparer.Ordinal);
        foreach ((string name, int[] shape) in Expected(config, lora))
        {
            expected.Add(name);
            if (!parameters.TryGet(name, out Parameter parameter))
                throw new ArgumentException($"parameter '{name}' {TensorShape.Format(shape)} is missing; this {config.ModelType} config{(lora is null ? "" : " with its LoRA adapter")} needs it");
            if (!parameter.Shape.SequenceEqual(shape))
                throw new ArgumentException($"parameter '{name}' has shape {TensorShape.Format(parameter.Shape)}; this {config.ModelType} config needs {TensorShape.Format(shape)}");
        }
        foreach (Parameter parameter in parameters)
        {
            if (expected.Contains(parameter.Name))
                continue;
            bool isLora = parameter.Name.EndsWith(".lora_A.weight", StringComparison.Ordinal) || parameter.Name.EndsWith(".lora_B.weight", StringComparison.Ordinal);
            throw new ArgumentException(isLora && lora is null
                ? $"parameter '{parameter.Name}' is a LoRA factor but the model was given no LoRA config"
                : isLora
                    ? $"parameter '{parameter.Name}' is a LoRA factor of a module the LoRA config does not target ({string.Join(", ", lora!.TargetModules)})"
                    : $"parameter '{parameter.Name}' is not part of this {config.ModelType} model{(config.TieWordEmbeddings ? " (tied embeddings: the head is model.embed_tokens.weight)" : "")}");
        }
    }

    public static ParameterSet Load(string modelDirectory, ModelConfig config, bool trainable)
    {
        config.Validate();
        using SafeTensorsCheckpoint checkpoint = SafeTensorsCheckpoint.Open(modelDirectory);
        string checkpointPath = checkpoint.IndexPath ?? checkpoint.Files[0].FilePath;
        var parameters = new ParameterSet();
        foreach ((string name, long[] shape) in config.TensorLayout())
        {
            // Extra tensors (an lm_head beside tied embeddings, old rotary inv_freq buffers) are ignored, as transformers does.
            if (!checkpoint.TryGet(name, out TensorInfo? info))
                throw new DataFormatException(checkpointPath, $"tensor '{name}'", $"missing; the {config.ModelType} config needs it with shape {TensorShape.Format(shape)}");
            if (!info.Shape.SequenceEqual(shape))
                throw new DataFormatException(checkpoint.FileOf(name).FilePath, $"tensor '{name}' field shape", $"is {TensorShape.Format(info.Shape)}; the config needs {TensorShape.Format(shape)}");
            var values = new float[info.ElementCount];
            checkpoint.CopyAsFloat32(name, values);
            parameters.Add(new Parameter(name, shape.Select(d => checked((int)d)).ToArray(), values, trainable));
        }
        return parameters;
    }

    /// <summary>
    /// PEFT's init: A Kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(in), 1/sqrt(in)); B zeros. Each A draws from its
    /// own xoshiro256** stream seeded by (seed, tensor name), so the values do not depend on which modules are targeted.
    /// </summary>
    public static void AddLora(ParameterSet parameters, ModelConfig config, LoraConfig lora, ulong seed)
    {
        config.Validate();
        lora.Validate();
        foreach ((string name, int[] shape) in lora.FactorLayout(config))
        {
            var values = new float[shape[0] * shape[1]];
            if (name.EndsWith(".lora_A.weight", StringComparison.Ordinal))
            {
                double bound = 1.0 / Math.Sqrt(shape[1]);
                var random = new Xoshiro256StarStar(DeterministicRandom.DeriveSeed(seed, name));
                for (int i = 0; i < values.Length; i++)
                    values[i] = (float)((2 * random.NextDouble() - 1) * bound);
            }
            parameters.Add(new Parameter(name, shape, values, trainable: true));
        }
    }

}
