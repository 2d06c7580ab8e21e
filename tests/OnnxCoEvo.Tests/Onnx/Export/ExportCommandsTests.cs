using OnnxCoEvo.Cli;
using OnnxCoEvo.Onnx.Adapters;
using OnnxCoEvo.Tests.Cli;
using OnnxCoEvo.Tests.Onnx.Generation;

namespace OnnxCoEvo.Tests.Onnx.Export;

/// <summary>`coevo export adapter|merged|verify` driven in-process on the tiny model.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class ExportCommandsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static int Coevo(params string[] args) => Program.Dispatch(args, TextWriter.Null);

    private string SaveAdapter(string name, ulong seed)
    {
        string path = _dir.File(name);
        ExportTestAdapters.Random(seed, targets: ["q_proj", "up_proj"]).Save(path);
        return path;
    }

    [Fact]
    public void Exports_are_verified_and_verify_exits_1_when_the_export_is_not_the_adapter()
    {
        string model = TinyModel.DirectoryWithOnnx, adapter = SaveAdapter("peft-in", 21), other = SaveAdapter("peft-other", 22);
        string file = _dir.File("out.onnx_adapter");
        Assert.Equal(0, Coevo("export", "adapter", "--model", model, "--adapter", adapter, "--out", file, "--new-tokens", "2"));
        Assert.NotEmpty(OnnxAdapterFile.Read(file));
        Assert.Equal(0, Coevo("export", "verify", file, "--model", model, "--adapter", adapter, "--new-tokens", "2"));
        Assert.Equal(1, Coevo("export", "verify", file, "--model", model, "--adapter", other, "--new-tokens", "2"));

        string peft = _dir.File("peft-out"), merged = _dir.File("merged");
        Assert.Equal(0, Coevo("export", "adapter", "--model", model, "--adapter", adapter, "--format", "peft", "--out", peft, "--no-verify"));
        Assert.Equal(0, Coevo("export", "merged", "--model", model, "--adapter", peft, "--out", merged, "--dtype", "f16", "--new-tokens", "2"));
        Assert.Equal(0, Coevo("export", "verify", merged, "--model", model, "--adapter", adapter, "--new-tokens", "2"));
        Assert.Equal(1, Coevo("export", "verify", merged, "--model", model, "--adapter", other, "--new-tokens", "2"));
    }

    [Fact]
    public void Bad_adapters_options_and_existing_outputs_are_refused_with_a_message()
    {
        string model = TinyModel.DirectoryWithOnnx, adapter = SaveAdapter("peft", 23);
        Directory.CreateDirectory(_dir.File("empty"));
        var noAdapter = Assert.Throws<ArgumentException>(() => Coevo("export", "adapter", "--model", model, "--adapter", _dir.File("empty"), "--out", _dir.File("x.onnx_adapter")));
        Assert.Contains("holds no LoRA adapter", noAdapter.Message);
        Assert.Contains("f32 or f16", Assert.Throws<ArgumentException>(() =>
            Coevo("export", "merged", "--model", model, "--adapter", adapter, "--out", _dir.File("m"), "--dtype", "f8")).Message);
        Assert.Contains("onnx-adapter, peft, merged", Assert.Throws<ArgumentException>(() =>
            Coevo("export", "adapter", "--model", model, "--adapter", adapter, "--out", _dir.File("m"), "--format", "gguf")).Message);

        string existing = _dir.Write("existing.onnx_adapter", "keep me");
        Assert.Contains("--force", Assert.Throws<IOException>(() =>
            Coevo("export", "adapter", "--model", model, "--adapter", adapter, "--out", existing, "--no-verify")).Message);
        Assert.Equal("keep me", File.ReadAllText(existing));
        Assert.Equal(0, Coevo("export", "adapter", "--model", model, "--adapter", adapter, "--out", existing, "--no-verify", "--force"));
        Assert.NotEmpty(OnnxAdapterFile.Read(existing));
    }
}
