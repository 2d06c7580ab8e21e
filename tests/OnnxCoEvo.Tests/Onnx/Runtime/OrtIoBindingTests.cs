using OnnxCoEvo.Onnx.Native;
using OnnxCoEvo.Onnx.Runtime;
using static OnnxCoEvo.Tests.Onnx.Runtime.OrtTestData;

namespace OnnxCoEvo.Tests.Onnx.Runtime;

public sealed class OrtIoBindingTests
{
    [Fact]
    public void SharedInputOutputBuffer_AccumulatesInPlace()
    {
        using var session = OrtInferenceSession.FromBytes(TestModels.Accumulate(2, 3), OneThread);
        float[] state = new float[6];
        float[] delta = Normal(6, 21);
        using var stateValue = OrtValue.FromMemory<float>(state, [2, 3]);
        using var deltaValue = OrtValue.FromMemory<float>(delta, [2, 3]);
        using OrtIoBinding binding = session.CreateBinding();
        binding.BindInput("state", stateValue);
        binding.BindInput("delta", deltaValue);
        binding.BindOutput("next", stateValue); // past and present on one buffer, as a shared KV cache

        for (int step = 1; step <= 3; step++)
        {
            session.Run(binding);
            AssertClose(delta.Select(d => d * step).ToArray(), state);
        }

        OrtValue[] outputs = binding.GetOutputs();
        using OrtValue bound = Assert.Single(outputs);
        Assert.Equal(state, bound.AsSpan<float>().ToArray()); // the same buffer
    }

    [Fact]
    public void BindOutputToCpu_OrtAllocates_GetOutputsReturnsIt_ClearRebinds()
    {
        using var session = OrtInferenceSession.FromBytes(TestModels.Accumulate(1, 4), OneThread);
        float[] a = [1, 2, 3, 4];
        float[] b = [10, 20, 30, 40];
        using var aValue = OrtValue.FromMemory<float>(a, [1, 4]);
        using var bValue = OrtValue.FromMemory<float>(b, [1, 4]);
        using OrtIoBinding binding = session.CreateBinding();
        binding.BindInput("state", aValue);
        binding.BindInput("delta", bValue);
        binding.BindOutputToCpu("next");

        session.Run(binding);
        OrtValue[] first = binding.GetOutputs();
        using (OrtValue next = Assert.Single(first))
        {
            Assert.Equal([11f, 22, 33, 44], next.AsSpan<float>().ToArray());
            Assert.Equal([1L, 4], next.Shape);
        }

        binding.ClearInputs();
        var ex = Assert.Throws<OrtException>(() => session.Run(binding));
        Assert.Contains("state", ex.NativeMessage); // ORT names the missing input

        binding.BindInput("state", bValue);
        binding.BindInput("delta", bValue);
        binding.ClearOutputs();
        Assert.Empty(binding.GetOutputs());
        binding.BindOutputToCpu("next");
        session.Run(binding);
        using OrtValue again = Assert.Single(binding.GetOutputs());
        Assert.Equal([20f, 40, 60, 80], again.AsSpan<float>().ToArray());
    }

    [Fact]
    public void Binding_FromAnotherSession_IsRejected_AndDisposeTwiceIsSafe()
    {
        using var one = OrtInferenceSession.FromBytes(TestModels.Accumulate(1, 1), OneThread);
        using var two = OrtInferenceSession.FromBytes(TestModels.Accumulate(1, 1), OneThread);
        OrtIoBinding binding = one.CreateBinding();

        Assert.Throws<ArgumentException>(() => two.Run(binding));
        binding.Dispose();
        binding.Dispose();
        Assert.Throws<ObjectDisposedException>(() => one.Run(binding));
    }

    [Fact]
    public void Binding_OutlivingItsSession_KeepsTheNativeSessionUntilReleased()
    {
        var session = OrtInferenceSession.FromBytes(TestModels.Accumulate(1, 2), OneThread);
        OrtIoBinding binding = session.CreateBinding();
        session.Dispose();

        // The session object is closed for use, yet the native session lives until the binding goes.
        Assert.Throws<ObjectDisposedException>(() => session.Run(binding));
        binding.Dispose();
    }
}
