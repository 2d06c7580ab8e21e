using OnnxCoEvo.Onnx.Adapters;
using OnnxCoEvo.Onnx.Native;
using OnnxCoEvo.Onnx.Runtime;
using static OnnxCoEvo.Tests.Onnx.Runtime.OrtTestData;

namespace OnnxCoEvo.Tests.Onnx.Runtime;

public sealed class OrtLoraTests
{
    private const int Rank = 2;
    private static readonly float[] W = Normal(K * N, 31);
    private static readonly float[] B = Normal(N, 32);
    private static readonly float[] X = Normal(3 * K, 33);
    private static readonly float[] A = Normal(K * Rank, 34);
    private static readonly float[] Bl = Normal(Rank * N, 35);

    private static OnnxAdapterParameter[] Parameters(string aName = "lora_A") =>
    [
        new(aName, TensorElementType.Float, [K, Rank], TestModels.FloatBytes(A)),
        new("lora_B", TensorElementType.Float, [Rank, N], TestModels.FloatBytes(Bl)),
    ];

    [Fact]
    public void WithoutAdapter_TheRankZeroDefaultsAreANoOp()
    {
        using var session = OrtInferenceSession.FromBytes(TestModels.LoraMatMulAdd(W, B, K, N), OneThread);

        AssertClose(Reference(X, W, B, rows: 3), RunY(session, X, rows: 3));
    }

    [Fact]
    public void AdapterWrittenByOnnxAdapterFile_OpenAndFromBytes_EqualTheReference()
    {
        using var dir = new TempDirectory();
        string modelPath = dir.File("model.onnx");
        File.WriteAllBytes(modelPath, TestModels.LoraMatMulAdd(W, B, K, N));
        string adapterPath = dir.File("a" + OnnxAdapterFile.Extension);
        OnnxAdapterFile.Save(adapterPath, Parameters());
        float[] expected = Reference(X, W, B, rows: 3, A, Bl, Rank);

        using var session = OrtInferenceSession.Open(modelPath, OneThread);
        using var fromFile = OrtLoraAdapter.Open(adapterPath);
        using var fromBytes = OrtLoraAdapter.FromBytes(File.ReadAllBytes(adapterPath));
        foreach (OrtLoraAdapter adapter in new[] { fromFile, fromBytes })
        {
            using var options = new OrtRunOptions();
            options.AddActiveLoraAdapter(adapter);
            AssertClose(expected, RunY(session, X, rows: 3, options));
        }

        // Without the options the base model is back.
        AssertClose(Reference(X, W, B, rows: 3), RunY(session, X, rows: 3));
    }

    [Fact]
    public void AdapterWithAWrongName_SurfacesOrtsError()
    {
        using var session = OrtInferenceSession.FromBytes(TestModels.LoraMatMulAdd(W, B, K, N), OneThread);
        using var adapter = OrtLoraAdapter.FromBytes(OnnxAdapterFile.Write(Parameters(aName: "lora_Q")));
        using var options = new OrtRunOptions();
        options.AddActiveLoraAdapter(adapter);

        var ex = Assert.Throws<OrtException>(() => RunY(session, X, rows: 3, options));

        Assert.Contains("Invalid input name: lora_Q", ex.Message);
    }

    [Fact]
    public void CorruptAdapter_OrtRejectsIt_NamingTheFile()
    {
        using var dir = new TempDirectory();
        byte[] bytes = OnnxAdapterFile.Write(Parameters());
        bytes[5] = (byte)'X'; // identifier TORT -> TXRT
        string path = dir.File("bad.onnx_adapter");
        File.WriteAllBytes(path, bytes);

        var fromFile = Assert.Throws<OrtException>(() => OrtLoraAdapter.Open(path));
        Assert.Contains(path, fromFile.Message);
        Assert.Contains("lora", fromFile.NativeMessage);
        Assert.Throws<OrtException>(() => OrtLoraAdapter.FromBytes(bytes));
    }

    [Fact]
    public void AdapterDisposedWhileActive_StaysValidForTheRunOptions()
    {
        using var session = OrtInferenceSession.FromBytes(TestModels.LoraMatMulAdd(W, B, K, N), OneThread);
        using var options = new OrtRunOptions();
        options.AddConfigEntry("memory.enable_memory_arena_shrinkage", "cpu:0");
        var adapter = OrtLoraAdapter.FromBytes(OnnxAdapterFile.Write(Parameters()));
        options.AddActiveLoraAdapter(adapter);
        adapter.Dispose();
        adapter.Dispose();

        AssertClose(Reference(X, W, B, rows: 3, A, Bl, Rank), RunY(session, X, rows: 3, options));
        Assert.Throws<ObjectDisposedException>(() => options.AddActiveLoraAdapter(adapter));
    }
}
