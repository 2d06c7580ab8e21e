namespace OnnxCoEvo.Tests.SafeTensors;

/// <summary>A fresh directory per test, deleted on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "coevo-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { /* a mapped file still open on some platforms; the OS temp cleaner gets it */ }
    }
}

/// <summary>Records reports on the reporting thread (Progress&lt;T&gt; would post them to the thread pool).</summary>
public sealed class SynchronousProgress(List<long> reports) : IProgress<long>
{
    public void Report(long value) => reports.Add(value);
}
