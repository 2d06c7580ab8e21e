using System.Diagnostics;
using OnnxCoEvo.Onnx.Runtime;
using Xunit.Abstractions;
using static OnnxCoEvo.Tests.Onnx.Runtime.OrtTestData;

namespace OnnxCoEvo.Tests.Onnx.Runtime;

/// <summary>Run is called once per decode step: its managed cost must stay a few small objects (named Run) or none
/// (IoBinding). Also reports the per-Run time of a tiny model.</summary>
public sealed class OrtRunOverheadTests(ITestOutputHelper output)
{
    private const int Runs = 2000;

    [Fact]
    public void NamedRun_AllocatesOnlyItsResults_BindingRunAllocatesNothing()
    {
        using var session = OrtInferenceSession.FromBytes(TestModels.Accumulate(1, 4), OneThread);
        float[] state = new float[4];
        float[] delta = [1, 1, 1, 1];
        using var stateValue = OrtValue.FromMemory<float>(state, [1, 4]);
        using var deltaValue = OrtValue.FromMemory<float>(delta, [1, 4]);
        KeyValuePair<string, OrtValue>[] inputs = [new("state", stateValue), new("delta", deltaValue)];
        string[] outputNames = ["next"];
        using OrtIoBinding binding = session.CreateBinding();
        binding.BindInput("state", stateValue);
        binding.BindInput("delta", deltaValue);
        binding.BindOutput("next", stateValue);

        // Warm up (names cached, JIT done).
        session.Run(inputs, outputNames)[0].Dispose();
        session.Run(binding);

        long before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < Runs; i++)
        {
            session.Run(inputs, outputNames)[0].Dispose();
        }

        double namedMicros = clock.Elapsed.TotalMicroseconds / Runs;
        long namedBytes = (GC.GetAllocatedBytesForCurrentThread() - before) / Runs;

        before = GC.GetAllocatedBytesForCurrentThread();
        clock.Restart();
        for (int i = 0; i < Runs; i++)
        {
            session.Run(binding);
        }

        double boundMicros = clock.Elapsed.TotalMicroseconds / Runs;
        long boundBytes = (GC.GetAllocatedBytesForCurrentThread() - before) / Runs;

        output.WriteLine($"named Run: {namedMicros:F1} us, {namedBytes} B managed per run; " +
            $"IoBinding Run: {boundMicros:F1} us, {boundBytes} B per run");
        Assert.Equal(Runs + 1f, state[0]); // every bound run added delta in place
        Assert.Equal(0, boundBytes);
        Assert.InRange(namedBytes, 1, 200); // the result array, one OrtValue and its SafeHandle (160 B measured)
    }
}
