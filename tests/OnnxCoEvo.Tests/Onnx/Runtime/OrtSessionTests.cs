using Xunit.Abstractions;
using OnnxCoEvo.Onnx.Graph;
using OnnxCoEvo.Onnx.Native;
using OnnxCoEvo.Onnx.Runtime;
using static OnnxCoEvo.Tests.Onnx.Runtime.OrtTestData;

namespace OnnxCoEvo.Tests.Onnx.Runtime;

public sealed class OrtSessionTests(ITestOutputHelper output)
{
    private static readonly float[] W = Normal(K * N, 11);
    private static readonly float[] B = Normal(N, 12);
    private static readonly float[] X = Normal(2 * K, 13);

    [Fact]
    public void MatMulAdd_OpenAndFromBytes_EqualTheReference()
    {
        using var dir = new TempDirectory();
        byte[] model = TestModels.MatMulAdd(W, B, K, N);
        string path = dir.File("model.onnx");
        File.WriteAllBytes(path, model);
        float[] expected = Reference(X, W, B, rows: 2);

        using (var fromFile = OrtInferenceSession.Open(path, OneThread))
        {
            AssertClose(expected, RunY(fromFile, X, rows: 2));
        }

        using var fromBytes = OrtInferenceSession.FromBytes(model, OneThread);
        AssertClose(expected, RunY(fromBytes, X, rows: 2));
        // The symbolic batch takes another size on the next run.
        AssertClose(Reference(X[..K], W, B, rows: 1), RunY(fromBytes, X[..K], rows: 1));
    }

    [Fact]
    public void Run_FromSeveralThreadsAtOnce_EachGetsItsOwnResult()
    {
        using var session = OrtInferenceSession.FromBytes(TestModels.MatMulAdd(W, B, K, N), OneThread);

        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t =>
        {
            float[] x = Normal(K, 100 + (ulong)t);
            float[] expected = Reference(x, W, B, rows: 1);
            for (int i = 0; i < 50; i++)
            {
                AssertClose(expected, RunY(session, x, rows: 1));
            }
        });
    }

    [Fact]
    public void Metadata_NamesTypesAndSymbolicDims()
    {
        using var session = OrtInferenceSession.FromBytes(TestModels.LoraMatMulAdd(W, B, K, N), OneThread);

        // lora_A/lora_B have initializer defaults: ORT does not list them as inputs.
        OrtTensorInfo input = Assert.Single(session.Inputs);
        Assert.Equal("X", input.Name);
        Assert.Equal(TensorElementType.Float, input.ElementType);
        Assert.Equal([-1L, K], input.Dims);
        Assert.Equal(["batch", null], input.SymbolicDims);

        // ... but as overridable inputs, declared with a symbolic rank.
        Assert.Equal(["lora_A", "lora_B"], session.OverridableInputs.Select(i => i.Name).Order());
        OrtTensorInfo loraA = session.OverridableInputs.Single(i => i.Name == "lora_A");
        Assert.Equal(TensorElementType.Float, loraA.ElementType);
        Assert.Equal([(long)K, -1], loraA.Dims);
        Assert.Equal([null, "rank"], loraA.SymbolicDims);

        OrtTensorInfo output = Assert.Single(session.Outputs);
        Assert.Equal(new OrtTensorInfo("Y", TensorElementType.Float, output.Dims, output.SymbolicDims), output);
        Assert.Equal([-1L, N], output.Dims);
        Assert.Equal(["batch", null], output.SymbolicDims);
    }

    [Fact]
    public void FromBytes_Garbage_ThrowsOrtExceptionWithOrtsMessage()
    {
        var ex = Assert.Throws<OrtException>(() => OrtInferenceSession.FromBytes("this is not a model"u8, OneThread));

        Assert.Equal(OrtErrorCode.InvalidProtobuf, ex.Code);
        Assert.Contains("protobuf parsing failed", ex.NativeMessage);
        Assert.Contains(ex.NativeMessage, ex.Message);
    }

    [Fact]
    public void Open_MissingFileOrDataDirectory_NamesIt()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => OrtInferenceSession.Open("/nonexistent/model.onnx"));
        Assert.Contains("/nonexistent/model.onnx", ex.Message);
        var dirEx = Assert.Throws<DirectoryNotFoundException>(() =>
            OrtInferenceSession.FromBytes(TestModels.MatMulAdd(W, B, K, N), OneThread, externalDataDirectory: "/nonexistent/data"));
        Assert.Contains("/nonexistent/data", dirEx.Message);
    }

    [Fact]
    public void Open_NotAModel_ThrowsOrtExceptionWithOrtsMessage()
    {
        using var dir = new TempDirectory();
        string path = dir.Write("broken.onnx", "not a model");

        var ex = Assert.Throws<OrtException>(() => OrtInferenceSession.Open(path, OneThread));

        Assert.Contains(path, ex.NativeMessage);
        Assert.Contains("protobuf parsing failed", ex.NativeMessage, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Run_UnknownInputName_ReportsOrtsInvalidInputName()
    {
        using var session = OrtInferenceSession.FromBytes(TestModels.MatMulAdd(W, B, K, N), OneThread);
        using var input = OrtValue.FromMemory<float>(X, [2, K]);

        var ex = Assert.Throws<OrtException>(() => session.Run([new("Z", input)], ["Y"]));

        Assert.Equal(OrtErrorCode.InvalidArgument, ex.Code);
        Assert.Contains("Invalid input name: Z", ex.Message);
    }

    [Fact]
    public void Run_WrongShape_ReportsOrtsMessage()
    {
        using var session = OrtInferenceSession.FromBytes(TestModels.MatMulAdd(W, B, K, N), OneThread);
        using var input = OrtValue.FromMemory<float>(X, [K, 2]);

        var ex = Assert.Throws<OrtException>(() => session.Run([new("X", input)], ["Y"]));

        Assert.Contains("X", ex.NativeMessage);
        Assert.Contains("dimensions", ex.NativeMessage);
    }

    [Fact]
    public void ExternalData_FromBytes_NeedsTheFolder_OpenFindsItBesideTheModel()
    {
        using var dir = new TempDirectory();
        // W (48 bytes) goes to weights.bin, B (12 bytes) stays inline.
        string? dataPath = TestModels.MatMulAddModel(W, B, K, N).Save(dir.File("model.onnx"),
            new OnnxSaveOptions { ExternalThresholdBytes = 40, ExternalDataFileName = "weights.bin" });
        Assert.Equal(dir.File("weights.bin"), dataPath);
        byte[] model = File.ReadAllBytes(dir.File("model.onnx"));
        float[] expected = Reference(X, W, B, rows: 2);

        // Without the folder ORT looks in the working directory, where the file is not.
        var ex = Assert.Throws<OrtException>(() => OrtInferenceSession.FromBytes(model, OneThread));
        Assert.Contains("weights.bin", ex.NativeMessage);

        using (var withFolder = OrtInferenceSession.FromBytes(model, OneThread, externalDataDirectory: dir.Path))
        {
            AssertClose(expected, RunY(withFolder, X, rows: 2));
        }

        using var opened = OrtInferenceSession.Open(dir.File("model.onnx"), OneThread);
        AssertClose(expected, RunY(opened, X, rows: 2));
    }

    [Fact]
    public void Settings_OptimisationLevelsAndConfigEntries_AreAccepted_BadOnesRejected()
    {
        byte[] model = TestModels.MatMulAdd(W, B, K, N);
        float[] expected = Reference(X, W, B, rows: 2);
        foreach (OrtGraphOptimization level in Enum.GetValues<OrtGraphOptimization>())
        {
            var settings = OneThread with
            {
                Optimization = level,
                ConfigEntries = new Dictionary<string, string> { ["session.intra_op.allow_spinning"] = "0" },
            };
            using var session = OrtInferenceSession.FromBytes(model, settings);
            AssertClose(expected, RunY(session, X, rows: 2));
        }

        var badEntry = OneThread with { ConfigEntries = new Dictionary<string, string> { ["session.bad\0key"] = "1" } };
        Assert.Throws<ArgumentException>(() => OrtInferenceSession.FromBytes(model, badEntry));
        Assert.Throws<ArgumentOutOfRangeException>(() => OrtInferenceSession.FromBytes(model, OneThread with { IntraOpThreads = -1 }));
        Assert.Throws<ArgumentException>(() => OrtInferenceSession.FromBytes(model,
            OneThread with { ProviderOptions = new Dictionary<string, string> { ["device_id"] = "0" } }));
    }

    [Fact]
    public void Dispose_Twice_IsSafe_AndUseAfterDisposeThrows()
    {
        var session = OrtInferenceSession.FromBytes(TestModels.MatMulAdd(W, B, K, N), OneThread);
        using var input = OrtValue.FromMemory<float>(X, [2, K]);
        session.Dispose();
        session.Dispose();

        Assert.Throws<ObjectDisposedException>(() => session.Run([new("X", input)], ["Y"]));
    }

    [Fact]
    public void Cuda_EitherRuns_OrFailsNamingTheMissingLibrariesAndTheFix()
    {
        AssertRunsOrExplains(OrtExecutionProvider.Cuda, ["COEVO_ORT_LIB", "libonnxruntime_providers_cuda.so", "CUDA"]);
    }

    [Fact]
    public void WebGpu_EitherRuns_OrFailsWithAClearMessage()
    {
        AssertRunsOrExplains(OrtExecutionProvider.WebGpu, ["COEVO_ORT_LIB", "WebGPU"]);
    }

    private void AssertRunsOrExplains(OrtExecutionProvider provider, string[] messageParts)
    {
        byte[] model = TestModels.MatMulAdd(W, B, K, N);
        OrtInferenceSession session;
        try
        {
            session = OrtInferenceSession.FromBytes(model, OneThread with { Provider = provider });
        }
        catch (OrtProviderUnavailableException e)
        {
            output.WriteLine($"{provider}: {e.Message}");
            Assert.Equal(provider, e.Provider);
            OrtException inner = Assert.IsType<OrtException>(e.InnerException);
            Assert.NotEmpty(e.NativeMessage);
            Assert.Contains(inner.NativeMessage.TrimEnd(), e.Message);
            foreach (string part in messageParts)
            {
                Assert.Contains(part, e.Message);
            }

            return;
        }

        output.WriteLine($"{provider}: session created");
        using (session)
        {
            AssertClose(Reference(X, W, B, rows: 2), RunY(session, X, rows: 2), tolerance: 1e-3f);
        }
    }
}
