using OnnxCoEvo.Core;
using OnnxCoEvo.Onnx.Graph;
using OnnxCoEvo.Onnx.Proto;
using OnnxCoEvo.Onnx.Runtime;

namespace OnnxCoEvo.Tests.Onnx.Graph;

public sealed class OnnxGraphBuilderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>y = x @ W + b with W 64x32 (8 KiB: external) and b 32 (128 B: inline).</summary>
    private static OnnxModel MatMulAdd(out float[] w, out float[] b)
    {
        w = Enumerable.Range(0, 64 * 32).Select(i => (float)Math.Sin(i)).ToArray();
        b = Enumerable.Range(0, 32).Select(i => i * 0.5f).ToArray();
        var g = new OnnxGraphBuilder("matmul_add");
        string x = g.Input("x", TensorElementType.Float, OnnxDim.Symbolic("batch"), 64);
        string weight = g.Initializer(OnnxTensor.FromFloats("w", w, 64, 32));
        string bias = g.Initializer(OnnxTensor.FromFloats("b", b, 32));
        string product = g.Node("MatMul", [x, weight]);
        string y = g.Node("Add", [product, bias], "y");
        g.Output(y, TensorElementType.Float, OnnxDim.Symbolic("batch"), 32);
        return g.Build();
    }

    [Fact]
    public void Saved_models_keep_big_initializers_external_at_aligned_offsets_and_read_back_identically()
    {
        OnnxModel built = MatMulAdd(out float[] w, out float[] b);
        string path = _dir.File("m/model.onnx");
        string? data = built.Save(path, new OnnxSaveOptions { ExternalDataFileName = "model.onnx.data" });
        Assert.Equal(_dir.File("m/model.onnx.data"), data);

        OnnxModel loaded = OnnxModel.Load(path);
        Assert.Equal(OnnxModel.IrVersion, loaded.Proto.IrVersion);
        Assert.Equal(new[] { ("", 21L), ("com.microsoft", 1L) }, loaded.Proto.OpsetImport.Select(o => (o.Domain, o.Version)));
        TensorProto wProto = loaded.Graph.Initializer.Single(t => t.Name == "w");
        Assert.Equal(TensorProto.Types.DataLocation.External, wProto.DataLocation);
        Assert.Equal("0", wProto.ExternalData.Single(e => e.Key == "offset").Value);
        Assert.False(loaded.Graph.Initializer.Single(t => t.Name == "b").HasDataLocation);
        Assert.Equal(w, loaded.ReadInitializer("w").As<float>().ToArray());
        Assert.Equal(b, loaded.ReadInitializer("b").As<float>().ToArray());
        Assert.Equal(["MatMul", "Add"], loaded.Graph.Node.Select(n => n.OpType));
        Assert.Equal("batch", loaded.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(64, loaded.Graph.Input[0].Type.TensorType.Shape.Dim[1].DimValue);

        // Everything inline: the same graph and data in one buffer.
        ModelProto inline = ModelProto.Parser.ParseFrom(built.ToBytes());
        Assert.All(inline.Graph.Initializer, t => Assert.False(t.HasDataLocation));
        Assert.Equal(w.Length * 4, inline.Graph.Initializer.Single(t => t.Name == "w").RawData.Length);
    }

    [Fact]
    public void Second_external_tensor_starts_on_the_next_alignment_boundary()
    {
        var g = new OnnxGraphBuilder();
        g.Initializer(OnnxTensor.FromFloats("a", new float[300], 300));   // 1200 bytes
        g.Initializer(OnnxTensor.FromFloats("c", Enumerable.Range(0, 500).Select(i => (float)i).ToArray(), 500));
        string sum = g.Node("Concat", ["a", "c"], "out", attributes: OnnxAttribute.Int("axis", 0));
        g.Output(sum, TensorElementType.Float, 800);
        string path = _dir.File("aligned.onnx");
        g.Build().Save(path);

        OnnxModel loaded = OnnxModel.Load(path);
        Assert.Equal("4096", loaded.Graph.Initializer.Single(t => t.Name == "c").ExternalData.Single(e => e.Key == "offset").Value);
        Assert.Equal(4096 + 2000, new FileInfo(path + ".data").Length);
        Assert.Equal(499f, loaded.ReadInitializer("c").As<float>()[499]);
    }

    [Fact]
    public void Graph_mistakes_fail_where_they_are_made()
    {
        var g = new OnnxGraphBuilder();
        string x = g.Input("x", TensorElementType.Float, 4);
        Assert.Contains("produced twice", Assert.Throws<ArgumentException>(() => g.Input("x", TensorElementType.Float, 4)).Message);
        Assert.Contains("'nowhere' is not produced", Assert.Throws<ArgumentException>(() => g.Node("Relu", ["nowhere"])).Message);
        Assert.Contains("not produced", Assert.Throws<ArgumentException>(() => g.Output("y", TensorElementType.Float, 4)).Message);
        Assert.Contains("expected 16", Assert.Throws<ArgumentException>(() => new OnnxTensor("t", TensorElementType.Float, [4], new byte[12])).Message);
        string first = g.Node("Relu", [x]), second = g.Node("Relu", [x]);
        Assert.StartsWith("relu", first);
        Assert.NotEqual(first, second);
    }

    [Fact]
    public void Files_that_are_not_onnx_and_damaged_external_data_name_the_file()
    {
        string text = _dir.Write("notes.onnx", "this is not a model at all, just text\n");
        var e = Assert.Throws<DataFormatException>(() => OnnxModel.Load(text));
        Assert.Contains("notes.onnx", e.Message);
        Assert.Contains("not an ONNX model", e.Message);
        Assert.Contains("not an ONNX model", Assert.Throws<DataFormatException>(() => OnnxModel.Load(_dir.Write("empty.onnx", ""))).Message);

        string path = _dir.File("cut/model.onnx");
        MatMulAdd(out _, out _).Save(path);
        using (var stream = new FileStream(path + ".data", FileMode.Open))
            stream.SetLength(100);
        var cut = Assert.Throws<DataFormatException>(() => OnnxModel.Load(path).ReadInitializer("w"));
        Assert.Contains("initializer 'w'", cut.Message);
        Assert.Contains("past the end", cut.Message);
        File.Delete(path + ".data");
        Assert.Contains("is missing", Assert.Throws<DataFormatException>(() => OnnxModel.Load(path).ReadInitializer("w")).Message);
    }
}
