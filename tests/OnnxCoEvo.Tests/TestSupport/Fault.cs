namespace OnnxCoEvo.Tests;

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
