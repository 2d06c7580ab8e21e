using System.Text.Json;
using OnnxCoEvo.Agents.Recipes.Runs;
using OnnxCoEvo.Core;
using OnnxCoEvo.Onnx.Adapters;
using OnnxCoEvo.Tests.Agents.Recipes.Runs;

namespace OnnxCoEvo.Tests.Onnx.Export;

/// <summary>The optional export: section of a run config and the run's export stage.</summary>
public sealed class RunExportTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private const string ExportSection = "export:\n  formats: [onnx-adapter, peft, merged]";

    [Fact]
    public void The_export_section_resolves_is_written_back_and_may_change_on_a_rerun()
    {
        RunConfig config = RunConfig.Parse(SmallRuns.Config("x", "sft", _dir.Path, extra: ExportSection), "x.yaml").Resolve("x.yaml");
        Assert.Equal(["onnx-adapter", "peft", "merged"], config.Export!.Formats);
        Assert.Equal(("f32", true), (config.Export.Dtype, config.Export.Verify));
        RunConfig reread = RunConfig.Parse(config.ToYaml()).Resolve();
        Assert.Equal(config.Export.Formats, reread.Export!.Formats);
        Assert.Contains("export.formats", config.Entries().Select(e => e.Field));

        // Without the section nothing changes (old resolved configs still compare equal), and adding it is no new experiment.
        RunConfig plain = RunConfig.Parse(SmallRuns.Config("x", "sft", _dir.Path)).Resolve();
        Assert.DoesNotContain(plain.Entries(), e => e.Section == RunExportConfig.Section);
        Assert.Null(plain.FirstDifference(config, out _));
        Assert.Null(config.FirstDifference(plain, out _));

        Fault.Expect(() => RunConfig.Parse(SmallRuns.Config("x", "sft", _dir.Path, extra: "export:\n  formats: [gguf]")).Resolve("y.yaml"),
            "y.yaml", "export.formats", "has 'gguf'");
        Fault.Expect(() => RunConfig.Parse(SmallRuns.Config("x", "sft", _dir.Path, extra: ExportSection + "\n  dtype: f8")).Resolve("y.yaml"),
            "y.yaml", "export.dtype", "must be f32 or f16");
        Fault.Expect(() => RunConfig.Parse(SmallRuns.Config("x", "sft", _dir.Path, extra: "export:\n  formats: []")).Resolve("y.yaml"),
            "y.yaml", "export.formats", "at least one");
    }

    [Fact]
    public async Task A_run_exports_its_final_adapter_as_its_own_verified_stage()
    {
        string model = SmallRuns.CreateTinyModel(_dir.File("model"));
        RunConfig config = RunConfig.Parse(SmallRuns.Config("sft-export", "sft", model, extra: ExportSection)).Resolve();
        string runPath = _dir.File("runs/sft-export");
        var log = new List<string>();
        await new RecipeRunner(config, runPath, log.Add).RunAsync();

        var run = new RunDirectory(runPath);
        Assert.True(run.Root.IsDone("export"));
        string target = Path.Combine(runPath, "export", "target");
        Assert.NotEmpty(OnnxAdapterFile.Read(Path.Combine(target, "adapter.onnx_adapter")));
        Assert.True(File.Exists(Path.Combine(target, "peft", "adapter_config.json")));
        Assert.True(File.Exists(Path.Combine(target, "merged", "genai_config.json")));
        using (JsonDocument marker = JsonDocument.Parse(File.ReadAllText(run.Root.MarkerPath("export"))))
        {
            JsonElement[] exports = marker.RootElement.GetProperty("target").EnumerateArray().ToArray();
            Assert.Equal(["onnx-adapter", "peft", "merged"], exports.Select(e => e.GetProperty("format").GetString()));
            Assert.All(exports, e => Assert.True(e.GetProperty("greedy_identical").GetBoolean()));
            Assert.All(exports, e => Assert.InRange(e.GetProperty("max_rel_error").GetDouble(), 0, 1e-4));
        }

        // A rerun finds the stage done and exports nothing again.
        DateTime written = File.GetLastWriteTimeUtc(Path.Combine(target, "adapter.onnx_adapter"));
        log.Clear();
        await new RecipeRunner(config, runPath, log.Add).RunAsync();
        Assert.Contains(log, line => line.Contains("export: done earlier, skipped", StringComparison.Ordinal));
        Assert.Equal(written, File.GetLastWriteTimeUtc(Path.Combine(target, "adapter.onnx_adapter")));
    }
}
