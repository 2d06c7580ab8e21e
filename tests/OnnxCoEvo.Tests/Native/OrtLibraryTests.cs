using System.Text;
using OnnxCoEvo.Onnx.Native;

namespace OnnxCoEvo.Tests.Native;

/// <summary>The ONNX Runtime loader against the library fetched from npm (copied next to the test binaries).</summary>
public sealed class OrtLibraryTests
{
    [Fact]
    public void Load_FindsTheFetchedLibrary_Version130_Api30()
    {
        OrtLibrary ort = OrtLibrary.Load(overridePath: null);

        Assert.Equal("1.30.0", ort.VersionString);
        Assert.NotEqual(IntPtr.Zero, ort.Api.Table);
        Assert.NotEqual(IntPtr.Zero, ort.Api.Slot(OrtSlot.ReleaseStatus));
        Assert.NotEqual(IntPtr.Zero, ort.Api.Slot(OrtSlot.Count - 1)); // API 30's last slot exists
        Assert.Throws<ArgumentOutOfRangeException>(() => ort.Api.Slot(OrtSlot.Count));
    }

    [Fact]
    public unsafe void ThrowIfError_ConvertsAStatusToOrtException()
    {
        OrtApi api = OrtLibrary.Load(overridePath: null).Api;
        api.ThrowIfError(IntPtr.Zero);

        IntPtr status;
        fixed (byte* msg = Encoding.UTF8.GetBytes("made by the test\0"))
        {
            status = api.CreateStatus(OrtErrorCode.InvalidArgument, msg);
        }

        var ex = Assert.Throws<OrtException>(() => api.ThrowIfError(status));
        Assert.Equal(OrtErrorCode.InvalidArgument, ex.Code);
        Assert.Equal("made by the test", ex.NativeMessage);
    }

    [Fact]
    public void Load_WithMissingOverride_NamesTheVariableAndPath()
    {
        var ex = Assert.Throws<OrtLoadException>(() => OrtLibrary.Load("/nonexistent/dir/libonnxruntime.so.1"));

        Assert.Contains("COEVO_ORT_LIB=/nonexistent/dir/libonnxruntime.so.1: no such file", ex.Message);
    }

    [Fact]
    public void Load_WithNonLibraryOverride_ReportsTheLoaderError()
    {
        string path = Path.Combine(Path.GetTempPath(), $"coevo-not-a-library-{Guid.NewGuid():N}.so");
        File.WriteAllText(path, "not an ELF file");
        try
        {
            var ex = Assert.Throws<OrtLoadException>(() => OrtLibrary.Load(path));
            Assert.StartsWith($"ONNX Runtime failed to load: COEVO_ORT_LIB={path}: {path}: ", ex.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
