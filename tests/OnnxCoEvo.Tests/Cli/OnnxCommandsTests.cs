using System.Text.Json;
using OnnxCoEvo.Cli;
using OnnxCoEvo.Core.Models;

namespace OnnxCoEvo.Tests.Cli;

/// <summary>`coevo onnx build` and `coevo onnx info` driven in-process.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class OnnxCommandsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static int Coevo(params string[] args) => Program.Dispatch(args, TextWriter.Null);

    /// <summary>Runs Program.Main (which turns user-facing exceptions into exit 2) and returns its exit code and stderr.</summary>
    private static (int Code, string Error) CoevoMain(params string[] args)
    {
        var error = new StringWriter();
        TextWriter previous = Console.Error;
        Console.SetError(error);
        try
        {
            return (Program.Main(args), error.ToString());
        }
        finally
        {
            Console.SetError(previous);
        }
    }

    private string TinyModel()
    {
        string model = _dir.File("tiny");
        Assert.Equal(0, Coevo("model", "init", "--preset", "tiny", "--out", model, "--seed", "3"));
        return model;
    }

    [Fact]
    public void Build_writes_the_genai_folder_beside_the_model_and_info_reads_it()
    {
        string model = TinyModel();
        Assert.Equal(0, Coevo("onnx", "build", "--model", model));
        string folder = Path.Combine(model, "onnx");
        foreach (string file in new[] { "model.onnx", "model.onnx.data", "genai_config.json", "tokenizer.json", "tokenizer_config.json" })
            Assert.True(File.Exists(Path.Combine(folder, file)), file);
        Assert.Equal(0, Coevo("onnx", "info", folder));
        Assert.Equal(0, Coevo("onnx", "info", Path.Combine(folder, "model.onnx")));

        // --out elsewhere, standard ops: GenAI must then grow the past itself.
        string other = _dir.File("standard");
        Assert.Equal(0, Coevo("onnx", "build", "--model", model, "--out", other, "--attention", "standard"));
        using JsonDocument genAi = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(other, "genai_config.json")));
        Assert.False(genAi.RootElement.GetProperty("search").GetProperty("past_present_share_buffer").GetBoolean());
    }

    [Fact]
    public void Bad_folders_and_options_exit_2_with_the_file_and_tensor_named()
    {
        string model = TinyModel();
        (ModelConfig.Load(model) with { HiddenSize = 96, HeadDim = 24 }).Save(model);
        (int code, string error) = CoevoMain("onnx", "build", "--model", model);
        Assert.Equal(2, code);
        Assert.Contains("model.safetensors", error);
        Assert.Contains("model.embed_tokens.weight", error);
        Assert.Contains("[1024, 128]", error);
        Assert.False(Directory.Exists(Path.Combine(model, "onnx")));

        (code, error) = CoevoMain("onnx", "build", "--model", _dir.File("missing"));
        Assert.Equal(2, code);
        Assert.Contains(_dir.File("missing"), error);

        (code, error) = CoevoMain("onnx", "build", "--model", TinyModelCopy(), "--attention", "flash");
        Assert.Equal(2, code);
        Assert.Contains("--attention", error);

        (code, error) = CoevoMain("onnx", "info", _dir.Write("junk.onnx", "not a model"));
        Assert.Equal(2, code);
        Assert.Contains("junk.onnx", error);
    }

    private string TinyModelCopy()
    {
        string model = _dir.File("tiny2");
        Assert.Equal(0, Coevo("model", "init", "--preset", "tiny", "--out", model));
        return model;
    }
}
