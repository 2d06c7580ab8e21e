using System.Text.Json;
using OnnxCoEvo.Core;
using OnnxCoEvo.Core.SafeTensors;

namespace OnnxCoEvo.Tests.SafeTensors;

public class SafeTensorsCheckpointTests
{
    // Five 400-byte tensors under a 1000-byte limit: shards [t0 t1] [t2 t3] [t4].
    private static readonly TensorSpec[] Specs = Enumerable.Range(0, 5).Select(i => new TensorSpec($"t{i}", TensorDType.F32, [10, 10])).ToArray();

    private static float ValueOf(string name, int index) => int.Parse(name[1..]) * 1000 + index;

    private static IReadOnlyList<string> WriteCheckpoint(string directory, long maxShardBytes) =>
        SafeTensorsCheckpointWriter.Write(directory, Specs, new Dictionary<string, string> { ["format"] = "pt" },
            (spec, sink) => sink.WriteFloat32(Enumerable.Range(0, 100).Select(i => ValueOf(spec.Name, i)).ToArray()), maxShardBytes);

    [Fact]
    public void PlanShards_FollowsTransformersRule()
    {
        IReadOnlyList<IReadOnlyList<TensorSpec>> shards = SafeTensorsCheckpointWriter.PlanShards(Specs, 1000);
        Assert.Equal([2, 2, 1], shards.Select(s => s.Count));
        // A tensor over the limit gets a shard of its own.
        Assert.Equal([1, 1, 1, 1, 1], SafeTensorsCheckpointWriter.PlanShards(Specs, 100).Select(s => s.Count));
        Assert.Single(SafeTensorsCheckpointWriter.PlanShards(Specs, 2000));
    }

    [Fact]
    public void Sharded_RoundTrip_WithIndex()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File(SafeTensorsCheckpoint.SingleFileName), "stale"); // would shadow the shards
        IReadOnlyList<string> written = WriteCheckpoint(dir.Path, 1000);

        Assert.Equal(["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors",
            SafeTensorsCheckpoint.IndexFileName], written.Select(Path.GetFileName));
        Assert.False(File.Exists(dir.File(SafeTensorsCheckpoint.SingleFileName)));
        using (JsonDocument index = JsonDocument.Parse(File.ReadAllText(dir.File(SafeTensorsCheckpoint.IndexFileName))))
        {
            Assert.Equal(2000, index.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64());
            Assert.Equal("model-00003-of-00003.safetensors", index.RootElement.GetProperty("weight_map").GetProperty("t4").GetString());
        }

        using SafeTensorsCheckpoint checkpoint = SafeTensorsCheckpoint.Open(dir.Path);
        Assert.NotNull(checkpoint.IndexPath);
        Assert.Equal(3, checkpoint.Files.Count);
        Assert.Equal(Specs.Select(s => s.Name), checkpoint.Names);
        foreach (TensorSpec spec in Specs)
        {
            Assert.Equal(spec, checkpoint.Get(spec.Name).Spec);
            Assert.Equal(Enumerable.Range(0, 100).Select(i => ValueOf(spec.Name, i)), checkpoint.ReadAsFloat32(spec.Name));
        }
        Assert.Equal("pt", checkpoint.FileOf("t2").Metadata["format"]);
        Assert.False(checkpoint.TryGet("t9", out _));
    }

    [Fact]
    public void SingleFile_WhenEverythingFits_RemovesStaleIndex()
    {
        using var dir = new TempDirectory();
        WriteCheckpoint(dir.Path, 1000);
        IReadOnlyList<string> written = WriteCheckpoint(dir.Path, SafeTensorsCheckpointWriter.DefaultMaxShardBytes);
        Assert.Equal([SafeTensorsCheckpoint.SingleFileName], written.Select(Path.GetFileName));
        Assert.False(File.Exists(dir.File(SafeTensorsCheckpoint.IndexFileName)));

        using SafeTensorsCheckpoint checkpoint = SafeTensorsCheckpoint.Open(dir.Path);
        Assert.Null(checkpoint.IndexPath);
        Assert.Equal(ValueOf("t3", 99), checkpoint.ReadAsFloat32("t3")[99]);
        using SafeTensorsCheckpoint byFile = SafeTensorsCheckpoint.Open(dir.File(SafeTensorsCheckpoint.SingleFileName));
        Assert.Equal(5, byFile.Names.Count);
    }

    [Fact]
    public void IndexNamingMissingShard_NamesIndexAndKey()
    {
        using var dir = new TempDirectory();
        WriteCheckpoint(dir.Path, 1000);
        File.Delete(dir.File("model-00002-of-00003.safetensors"));
        var error = Assert.Throws<DataFormatException>(() => SafeTensorsCheckpoint.Open(dir.Path).Dispose());
        Assert.Equal(dir.File(SafeTensorsCheckpoint.IndexFileName), error.FilePath);
        Assert.Equal("$.weight_map[\"t2\"]", error.Position);
        Assert.Contains("model-00002-of-00003.safetensors", error.Problem);
    }

    [Fact]
    public void IndexNamingWrongShard_NamesIndexAndKey()
    {
        using var dir = new TempDirectory();
        WriteCheckpoint(dir.Path, 1000);
        string indexPath = dir.File(SafeTensorsCheckpoint.IndexFileName);
        File.WriteAllText(indexPath, File.ReadAllText(indexPath).Replace("\"t4\": \"model-00003", "\"t4\": \"model-00001"));
        var error = Assert.Throws<DataFormatException>(() => SafeTensorsCheckpoint.Open(dir.Path).Dispose());
        Assert.Equal("$.weight_map[\"t4\"]", error.Position);
        Assert.Contains("has no tensor 't4'", error.Problem);
    }

    [Fact]
    public void IndexWithoutWeightMap_OrMissingDirectory_AreReported()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File(SafeTensorsCheckpoint.IndexFileName), "{\"metadata\": {}}");
        Assert.Equal("$.weight_map", Assert.Throws<DataFormatException>(() => SafeTensorsCheckpoint.Open(dir.Path)).Position);
        Assert.Throws<FileNotFoundException>(() => SafeTensorsCheckpoint.Open(dir.File("nothing-here")));
    }
}
