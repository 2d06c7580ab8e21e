using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.SafeTensors;
using OnnxCoEvo.Training.Parameters;

namespace OnnxCoEvo.Onnx.Decoder;

/// <summary>
/// Where the decoder builder reads fp32 weights from, by Hugging Face name and [out, in] shape
/// (<see cref="ModelConfig.TensorLayout"/>): a model directory's safetensors, or an in-memory parameter set.
/// </summary>
public abstract class DecoderWeights : IDisposable
{
    /// <summary>Copies the tensor into <paramref name="destination"/> (length = product of <paramref name="shape"/>).</summary>
    /// <exception cref="DataFormatException">The tensor is missing or shaped differently; names the file and tensor.</exception>
    public abstract void CopyTo(string name, IReadOnlyList<long> shape, Span<float> destination);

    /// <summary>Checks every tensor of the layout before any work is done, so a bad folder fails at once.</summary>
    public abstract void CheckLayout(ModelConfig config);

    public virtual void Dispose() => GC.SuppressFinalize(this);

    /// <summary>The weights of a model directory (model.safetensors or its shards); widens F16/BF16.</summary>
    public static DecoderWeights FromDirectory(string modelDirectory) => new CheckpointWeights(SafeTensorsCheckpoint.Open(modelDirectory));

    /// <summary>Weights already in memory (the trainer's parameters, or a test's).</summary>
    public static DecoderWeights FromParameters(ParameterSet parameters) => new ParameterWeights(parameters);

    /// <summary>destination [cols, rows] = scale x source [rows, cols]^T, in cache-sized tiles.</summary>
    public static void Transpose(ReadOnlySpan<float> source, Span<float> destination, int rows, int cols, float scale = 1f)
    {
        long count = (long)rows * cols;
        if (source.Length < count || destination.Length < count)
            throw new ArgumentException($"transpose of [{rows}, {cols}] needs {count} elements; have {source.Length} and {destination.Length}");
        const int Tile = 32;
        for (int r0 = 0; r0 < rows; r0 += Tile)
        {
            int r1 = Math.Min(rows, r0 + Tile);
            for (int c0 = 0; c0 < cols; c0 += Tile)
            {
                int c1 = Math.Min(cols, c0 + Tile);
                for (int r = r0; r < r1; r++)
                {
                    ReadOnlySpan<float> row = source.Slice(r * cols, cols);
                    for (int c = c0; c < c1; c++)
                        destination[c * rows + r] = row[c] * scale;
                }
            }
        }
    }

    private sealed class CheckpointWeights(SafeTensorsCheckpoint checkpoint) : DecoderWeights
    {
        private string Where => checkpoint.IndexPath ?? checkpoint.Files[0].FilePath;

        public override void CheckLayout(ModelConfig config)
        {
            foreach ((string name, long[] shape) in config.TensorLayout())
                Check(name, shape);
        }

        public override void CopyTo(string name, IReadOnlyList<long> shape, Span<float> destination)
        {
            Check(name, shape);
            checkpoint.CopyAsFloat32(name, destination);
        }

        private TensorInfo Check(string name, IReadOnlyList<long> shape)
        {
            if (!checkpoint.TryGet(name, out TensorInfo? info))
                throw new DataFormatException(Where, $"tensor '{name}'", $"missing; the model needs it with shape {TensorShape.Format(shape)}");
            if (!info.Shape.SequenceEqual(shape))
                throw new DataFormatException(checkpoint.FileOf(name).FilePath, $"tensor '{name}' field shape", $"is {TensorShape.Format(info.Shape)}; the config needs {TensorShape.Format(shape)}");
            if (!info.DType.IsFloat32Convertible())
                throw new DataFormatException(checkpoint.FileOf(name).FilePath, $"tensor '{name}' field dtype", $"is {info.DType.ToHeaderString()}; weights must be F32, F16 or BF16");
            return info;
        }

        public override void Dispose()
        {
            checkpoint.Dispose();
            base.Dispose();
        }
    }

    private sealed class ParameterWeights(ParameterSet parameters) : DecoderWeights
    {
        public override void CheckLayout(ModelConfig config)
        {
            foreach ((string name, long[] shape) in config.TensorLayout())
                Check(name, shape);
        }

        public override void CopyTo(string name, IReadOnlyList<long> shape, Span<float> destination) =>
            Check(name, shape).Value.CopyTo(destination);

        private Parameter Check(string name, IReadOnlyList<long> shape)
        {
            if (!parameters.TryGet(name, out Parameter parameter))
                throw new DataFormatException("<parameters>", $"tensor '{name}'", $"missing; the model needs it with shape {TensorShape.Format(shape)}");
            if (!TensorShape.ToLong(parameter.Shape).SequenceEqual(shape))
                throw new DataFormatException("<parameters>", $"tensor '{name}' field shape", $"is {TensorShape.Format(parameter.Shape)}; the config needs {TensorShape.Format(shape)}");
            return parameter;
        }
    }
}
