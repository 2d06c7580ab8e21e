using OnnxCoEvo.Core;
using OnnxCoEvo.Training.Trainer;

namespace OnnxCoEvo.Tests.Training;

public sealed class ReferenceLogProbsFileTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Round_trips_every_double_exactly()
    {
        string path = _dir.File("reference_logps.json");
        var written = new ReferenceLogProbsFile("start", "abc", [(-12.345678901234567, -0.1), (double.MinValue, -1e-300)]);
        ReferenceLogProbsFile.Write(path, written);
        ReferenceLogProbsFile read = ReferenceLogProbsFile.Read(path);
        Assert.Equal("start", read.Reference);
        Assert.Equal("abc", read.DataFingerprint);
        Assert.Equal(written.Values, read.Values);
    }

    [Theory]
    [InlineData("""{"reference":"start","data":"x","pairs":[[1.0]]}""", "$.pairs[0]", "[chosen, rejected]")]
    [InlineData("""{"reference":"start","data":"x","pairs":[[1.0, "a"]]}""", "$.pairs[0][1]", "number")]
    [InlineData("""{"reference":"start","pairs":[]}""", "data", "")]
    [InlineData("""{"reference":"start","data":"x","pairs":[""", "", "JSON")]
    public void A_damaged_file_is_a_clear_error_naming_the_file_and_field(string json, string position, string problem)
    {
        string path = _dir.Write("reference_logps.json", json);
        var e = Assert.Throws<DataFormatException>(() => ReferenceLogProbsFile.Read(path));
        Assert.Equal(path, e.FilePath);
        Assert.Contains(position, e.Position);
        Assert.Contains(problem, e.Message);
    }
}
