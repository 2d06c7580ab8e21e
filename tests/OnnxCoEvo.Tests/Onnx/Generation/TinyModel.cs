using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.Tokenization;

namespace OnnxCoEvo.Tests.Onnx.Generation;

/// <summary>One random-weight tiny model directory per test process (the preset `coevo model init --preset tiny` writes).</summary>
public static class TinyModel
{
    private static readonly Lazy<string> s_directory = new(() =>
    {
        string directory = Path.Combine(Path.GetTempPath(), "coevo-tests-tiny-generator-" + Environment.ProcessId);
        if (System.IO.Directory.Exists(directory)) System.IO.Directory.Delete(directory, recursive: true);
        ModelDirectoryFactory.Create(new ModelDirectoryRequest { PresetName = "tiny", OutputDirectory = directory, Seed = 11 });
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { System.IO.Directory.Delete(directory, recursive: true); }
            catch (IOException) { }
        };
        return directory;
    });

    public static string Directory => s_directory.Value;

    public static BpeTokenizer Tokenizer => BpeTokenizer.Load(Directory);

    public static IChatTemplate Template => ChatTemplates.Detect(Tokenizer);
}
