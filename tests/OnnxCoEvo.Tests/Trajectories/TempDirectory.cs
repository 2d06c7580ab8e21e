using System.Text;

namespace OnnxCoEvo.Tests.Trajectories;

/// <summary>A fresh directory per test, deleted with everything in it on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "coevo-traj-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes UTF-8 text (no BOM) and returns the file's path.</summary>
    public string Write(string name, string text)
    {
        string path = File(name);
        System.IO.File.WriteAllText(path, text, new UTF8Encoding(false));
        return path;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { /* a leftover temp dir must not fail the test */ }
    }
}

/// <summary>Checks that reading fails with a <see cref="OnnxCoEvo.Core.DataFormatException"/> at the expected place.</summary>
internal static class Fault
{
    /// <param name="position">Exact position, or its start when <paramref name="positionIsPrefix"/> (syntax errors carry a byte).</param>
    public static void Expect(Action read, string filePath, string position, string problem, bool positionIsPrefix = false)
    {
        var e = Assert.Throws<OnnxCoEvo.Core.DataFormatException>(read);
        Assert.Equal(filePath, e.FilePath);
        if (positionIsPrefix) Assert.StartsWith(position, e.Position);
        else Assert.Equal(position, e.Position);
        Assert.Contains(problem, e.Problem);
    }
}
