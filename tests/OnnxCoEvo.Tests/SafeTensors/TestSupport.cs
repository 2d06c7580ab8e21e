namespace OnnxCoEvo.Tests.SafeTensors;

/// <summary>Records reports on the reporting thread (Progress&lt;T&gt; would post them to the thread pool).</summary>
public sealed class SynchronousProgress(List<long> reports) : IProgress<long>
{
    public void Report(long value) => reports.Add(value);
}
