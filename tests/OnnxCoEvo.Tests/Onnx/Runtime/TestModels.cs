using OnnxCoEvo.Onnx.Graph;
using OnnxCoEvo.Onnx.Runtime;

namespace OnnxCoEvo.Tests.Onnx.Runtime;

/// <summary>Tiny models for the binding tests, built with the product's graph builder.</summary>
internal static class TestModels
{
    private const TensorElementType Float = TensorElementType.Float;

    public static byte[] FloatBytes(float[] values) => OnnxTensor.FromFloats("bytes", values, values.Length).Data.ToArray();

    /// <summary>Y = X·W + B with X [batch, k] (batch symbolic), W [k, n], B [n].</summary>
    public static OnnxModel MatMulAddModel(float[] w, float[] b, int k, int n)
    {
        var g = new OnnxGraphBuilder("matmul_add");
        string x = g.Input("X", Float, OnnxDim.Symbolic("batch"), k);
        string xw = g.Node("MatMul", [x, g.Initializer(OnnxTensor.FromFloats("W", w, k, n))], "XW");
        g.Node("Add", [xw, g.Initializer(OnnxTensor.FromFloats("B", b, n))], "Y");
        g.Output("Y", Float, OnnxDim.Symbolic("batch"), n);
        return g.Build();
    }

    public static byte[] MatMulAdd(float[] w, float[] b, int k, int n) => MatMulAddModel(w, b, k, n).ToBytes();

    /// <summary>Y = X·W + (X·lora_A)·lora_B + B; lora_A [k, rank] and lora_B [rank, n] are graph inputs with rank-0
    /// initializer defaults, so without an adapter the LoRA path adds nothing.</summary>
    public static byte[] LoraMatMulAdd(float[] w, float[] b, int k, int n)
    {
        var g = new OnnxGraphBuilder("lora_matmul_add");
        string x = g.Input("X", Float, OnnxDim.Symbolic("batch"), k);
        string a = g.InputWithDefault(OnnxTensor.FromFloats("lora_A", [], k, 0), k, OnnxDim.Symbolic("rank"));
        string bl = g.InputWithDefault(OnnxTensor.FromFloats("lora_B", [], 0, n), OnnxDim.Symbolic("rank"), n);
        string xw = g.Node("MatMul", [x, g.Initializer(OnnxTensor.FromFloats("W", w, k, n))], "XW");
        string xab = g.Node("MatMul", [g.Node("MatMul", [x, a], "XA"), bl], "XAB");
        string sum = g.Node("Add", [xw, xab], "S");
        g.Node("Add", [sum, g.Initializer(OnnxTensor.FromFloats("B", b, n))], "Y");
        g.Output("Y", Float, OnnxDim.Symbolic("batch"), n);
        return g.Build().ToBytes();
    }

    /// <summary>next = state + delta, all [rows, cols]: bound with state and next on one buffer it accumulates in place.</summary>
    public static byte[] Accumulate(int rows, int cols)
    {
        var g = new OnnxGraphBuilder("accumulate");
        string state = g.Input("state", Float, rows, cols);
        string delta = g.Input("delta", Float, rows, cols);
        g.Node("Add", [state, delta], "next");
        g.Output("next", Float, rows, cols);
        return g.Build().ToBytes();
    }
}
