namespace OnnxCoEvo.Training.Cpu;

/// <summary>
/// Deterministic row-parallel loops for the CPU ops. Rows are cut into blocks whose size depends only on the work per
/// row, never on the thread count, and each row is computed by the same code on the same data in every block layout;
/// so results are bit-identical whatever the scheduling. Reductions across rows are never done here: the ops keep
/// those serial (or give each output a single owner).
/// </summary>
internal static class RowParallel
{
    /// <summary>Below this many scalar operations a loop runs inline: a task costs more than it saves.</summary>
    private const long MinWorkPerBlock = 1 << 15;

    /// <summary>Runs <paramref name="body"/>(firstRow, endRow) over [0, rows) in fixed blocks, in parallel when large.</summary>
    public static void For(int rows, long workPerRow, Action<int, int> body)
    {
        if (rows <= 0)
            return;
        int rowsPerBlock = (int)Math.Clamp(MinWorkPerBlock / Math.Max(1, workPerRow), 1, rows);
        int blocks = (rows + rowsPerBlock - 1) / rowsPerBlock;
        if (blocks == 1)
        {
            body(0, rows);
            return;
        }
        Parallel.For(0, blocks, block =>
        {
            int first = block * rowsPerBlock;
            body(first, Math.Min(rows, first + rowsPerBlock));
        });
    }

    /// <summary>Runs <paramref name="body"/>(item) for each independent work item; each item owns its outputs.</summary>
    public static void ForEachItem(int items, long workPerItem, Action<int> body)
    {
        if (items <= 0)
            return;
        if (items == 1 || (long)items * workPerItem < MinWorkPerBlock)
        {
            for (int i = 0; i < items; i++)
                body(i);
            return;
        }
        Parallel.For(0, items, body);
    }
}

/// <summary>
/// A pinned span as a raw pointer, so parallel loop bodies (lambdas, which cannot capture spans) can slice it.
/// Valid only inside the <c>fixed</c> block that produced it.
/// </summary>
internal readonly unsafe struct Pinned<T>(T* pointer, int length) where T : unmanaged
{
    public Span<T> Slice(long start, int length) => new(pointer + start, length);

    public Span<T> Span => new(pointer, length);

    public bool IsEmpty => length == 0;

    public ref T this[long index] => ref pointer[index];
}
