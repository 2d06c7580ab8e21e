using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace OnnxCoEvo.Onnx.Native;

/// <summary>NUL-terminated UTF-8 copies of strings for the C API (ORT's char* on Linux).</summary>
internal static unsafe class NativeUtf8
{
    /// <summary>A native copy to free with <see cref="Free"/>; rejects embedded NULs, which C would silently cut at.</summary>
    public static IntPtr Allocate(string value, string paramName)
    {
        ArgumentNullException.ThrowIfNull(value, paramName);
        if (value.Contains('\0'))
        {
            throw new ArgumentException($"'{value.Replace("\0", "\\0")}' contains a NUL character, which ONNX Runtime cannot take.", paramName);
        }

        return Marshal.StringToCoTaskMemUTF8(value);
    }

    public static void Free(IntPtr value) => Marshal.FreeCoTaskMem(value);

    public static string Read(byte* value) => Marshal.PtrToStringUTF8((IntPtr)value) ?? "";
}

/// <summary>A native array of NUL-terminated UTF-8 strings (keys or values for ORT's option calls).</summary>
internal sealed unsafe class NativeUtf8Array : IDisposable
{
    private readonly IntPtr[] _strings;
    private readonly GCHandle _pin;

    public NativeUtf8Array(IEnumerable<string> values, string paramName)
    {
        _strings = values.Select(v => NativeUtf8.Allocate(v, paramName)).ToArray();
        _pin = GCHandle.Alloc(_strings, GCHandleType.Pinned);
    }

    public byte** Pointers => (byte**)_pin.AddrOfPinnedObject();

    public nuint Count => (nuint)_strings.Length;

    public void Dispose()
    {
        if (!_pin.IsAllocated)
        {
            return;
        }

        _pin.Free();
        foreach (IntPtr s in _strings)
        {
            NativeUtf8.Free(s);
        }
    }
}

/// <summary>
/// Input/output names of one session as native UTF-8, encoded once and reused: Run and IoBinding are called per decode
/// step, and re-encoding every name each call would be steady garbage. Names the session does not know are cached too
/// (ORT then reports them); the cache is freed with the session.
/// </summary>
internal sealed class NativeNameCache : IDisposable
{
    private readonly ConcurrentDictionary<string, IntPtr> _names = new(StringComparer.Ordinal);
    private bool _disposed;

    public IntPtr Get(string name)
    {
        if (_names.TryGetValue(name, out IntPtr cached))
        {
            return cached;
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        IntPtr created = NativeUtf8.Allocate(name, nameof(name));
        IntPtr stored = _names.GetOrAdd(name, created);
        if (stored != created)
        {
            NativeUtf8.Free(created);
        }

        return stored;
    }

    public void Dispose()
    {
        _disposed = true;
        foreach (IntPtr p in _names.Values)
        {
            NativeUtf8.Free(p);
        }

        _names.Clear();
    }
}
