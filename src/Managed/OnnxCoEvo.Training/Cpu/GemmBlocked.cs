using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OnnxCoEvo.Training.Cpu;

/// <summary>
/// Cache-blocked, packed, multi-threaded GEMM (the BLIS loop nest) around an <see cref="IGemmKernel"/> microkernel
/// of MR x NR: Vector512 8x32 (16x16 for n &lt;= 16) where the CPU has a fast AVX-512, else Vector256 6x16. For each
/// block of columns (NC) and of depth (KC), output tiles are computed in parallel; a tile packs the op(A) micro-panels
/// (MR high) and op(B) micro-panels (NR wide) it needs that no tile has packed yet, so packing (memory-bound) overlaps
/// the other threads' computing, needs no phase and barrier of its own, and the packed panels start in the cache of
/// the core that uses them. Each worker thread first takes its own share of the tiles (whole column tiles where
/// possible, so most of what it reads it packed itself), then helps with what is left of the others'.
/// Threads share out output tiles only; the depth blocks run in order for every tile, so each C element sees the same
/// sequence of operations (per depth block: a fused chain over p from zero, then one add into C) whatever the
/// thread count.
/// </summary>
internal static unsafe class GemmBlocked
{
    /// <summary>
    /// KC: a B micro-panel (256 x NR fp32) stays in L1 while A micro-panels stream past it. The same for every kernel
    /// on purpose: the depth blocks decide where each fused chain is added into C, so the Vector512 and Vector256
    /// kernels give the same bits (an AVX-512 machine and an AVX2 one agree; only the portable non-FMA kernel differs).
    /// </summary>
    private const int DepthBlock = 256;

    /// <summary>NC: bounds the packed B block to KC x 4096 fp32 (vocabulary-sized n would not fit).</summary>
    private const int ColumnBlock = 4096;

    /// <summary>Bounds the packed A slab to 3072 x KC fp32.</summary>
    private const int RowSlab = 3072;

    /// <summary>Multiply-adds per thread (about 100 us of one core) below which another thread's wake-up and barriers cost more than it saves.</summary>
    private const long MinWorkPerThread = 1L << 22;

    /// <summary>Tiles per thread to aim for: enough to even out when another process holds a core for a while.</summary>
    private const int TilesPerThread = 4;

    /// <summary>Packed floats (64 KiB) a thread claims at a time, so threads needing the same panels share their packing.</summary>
    private const int PackRunFloats = 1 << 14;

    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k,
        bool transA, bool transB, bool accumulate, int maxThreads)
    {
        // The kernel depends on the machine and the shape only, never on the thread count.
        if (!GemmKernels.UseVector512)
            Multiply<Kernel6x16>(a, b, c, m, n, k, transA, transB, accumulate, maxThreads);
        else if (n <= Kernel16x16Avx512.PanelCols)
            Multiply<Kernel16x16Avx512>(a, b, c, m, n, k, transA, transB, accumulate, maxThreads);
        else
            Multiply<Kernel8x32Avx512>(a, b, c, m, n, k, transA, transB, accumulate, maxThreads);
    }

    private static void Multiply<TKernel>(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k,
        bool transA, bool transB, bool accumulate, int maxThreads) where TKernel : struct, IGemmKernel
    {
        long work = (long)m * n * k;
        int threads = (int)Math.Clamp(work / MinWorkPerThread, 1, maxThreads);

        int depth = Math.Min(k, DepthBlock);
        long packedAFloats = RoundUp(Math.Min(m, RowSlab), TKernel.PanelRows) * (long)depth;
        long packedBOffset = RoundUp(packedAFloats, 16);   // keeps B panels 64-byte aligned
        long packedBFloats = RoundUp(Math.Min(n, ColumnBlock), TKernel.PanelCols) * (long)depth;
        PackBuffer buffer = PackBuffer.Rent(packedBOffset + packedBFloats);
        try
        {
            fixed (float* pa = a, pb = b, pc = c)
            {
                new Job<TKernel>(pa, pb, pc, m, n, k, transA, transB, accumulate, buffer.Data, buffer.Data + packedBOffset, threads).Run();
            }
        }
        finally
        {
            PackBuffer.Return(buffer);
        }
    }

    private static long RoundUp(long value, int multiple) => (value + multiple - 1) / multiple * multiple;

    private static int CeilDiv(int value, int divisor) => (value + divisor - 1) / divisor;

    /// <summary>One call's loop nest; a class so the parallel bodies can reach the (pinned) pointers.</summary>
    private sealed class Job<TKernel> where TKernel : struct, IGemmKernel
    {
        private static int PanelRows => TKernel.PanelRows;
        private static int PanelCols => TKernel.PanelCols;

        private readonly float* _a, _b, _c, _packedA, _packedB;
        private readonly int _m, _n, _k, _threads;
        private readonly bool _transA, _transB, _accumulate;
        private readonly ParallelOptions _parallelOptions;
        private readonly Action<int> _worker;

        // Per worker share of the tiles: the next tile to take (padded to a cache line each, against false sharing).
        private readonly int[] _nextTile;
        private const int CounterStride = 16;
        private int _workers;

        // Per micro-panel of the current block: whether it is packed (see EnsurePacked).
        private readonly int[] _rowPanelStates, _colPanelStates;
        private const int Unpacked = 0, Packing = 1, Packed = 2;

        // The current block: columns [_jc, _jc + _nc), depth [_pc, _pc + _kc), rows [_ic, _ic + _mc).
        private int _jc, _nc, _pc, _kc, _ic, _mc;
        private bool _addToC;
        private PanelPacking _packA, _packB;
        private int _rowPanels, _colPanels, _rowPanelsPerTile, _colPanelsPerTile, _rowTiles, _colTiles;

        public Job(float* a, float* b, float* c, int m, int n, int k, bool transA, bool transB, bool accumulate,
            float* packedA, float* packedB, int threads)
        {
            _a = a;
            _b = b;
            _c = c;
            _packedA = packedA;
            _packedB = packedB;
            (_m, _n, _k, _threads) = (m, n, k, threads);
            (_transA, _transB, _accumulate) = (transA, transB, accumulate);
            _parallelOptions = new ParallelOptions { MaxDegreeOfParallelism = threads };
            _worker = Work;
            _nextTile = new int[threads * CounterStride];
            _rowPanelStates = new int[CeilDiv(Math.Min(m, RowSlab), PanelRows)];
            _colPanelStates = new int[CeilDiv(Math.Min(n, ColumnBlock), PanelCols)];
        }

        public void Run()
        {
            for (_jc = 0; _jc < _n; _jc += ColumnBlock)
            {
                _nc = Math.Min(ColumnBlock, _n - _jc);
                _colPanels = CeilDiv(_nc, PanelCols);
                for (_pc = 0; _pc < _k; _pc += DepthBlock)
                {
                    _kc = Math.Min(DepthBlock, _k - _pc);
                    _addToC = _accumulate || _pc > 0;
                    _packB = _transB
                        ? new PanelPacking(_b + (nint)_jc * _k + _pc, _k, linesAlongDepth: true, _nc, _kc, PanelCols, _packedB)
                        : new PanelPacking(_b + (nint)_pc * _n + _jc, _n, linesAlongDepth: false, _nc, _kc, PanelCols, _packedB);
                    Array.Clear(_colPanelStates);   // one packed B block serves every row slab
                    for (_ic = 0; _ic < _m; _ic += RowSlab)
                    {
                        _mc = Math.Min(RowSlab, _m - _ic);
                        _rowPanels = CeilDiv(_mc, PanelRows);
                        _packA = _transA
                            ? new PanelPacking(_a + (nint)_pc * _m + _ic, _m, linesAlongDepth: false, _mc, _kc, PanelRows, _packedA)
                            : new PanelPacking(_a + (nint)_ic * _k + _pc, _k, linesAlongDepth: true, _mc, _kc, PanelRows, _packedA);
                        Array.Clear(_rowPanelStates);
                        int tiles = ChooseTiles();
                        if (_threads == 1 || tiles == 1)
                        {
                            for (int t = 0; t < tiles; t++) ComputeTile(t);
                        }
                        else
                        {
                            for (int w = 0; w < _workers; w++)
                                _nextTile[w * CounterStride] = w * tiles / _workers;
                            Parallel.For(0, _workers, _parallelOptions, _worker);
                        }
                    }
                }
            }
        }

        /// <summary>
        /// Worker <paramref name="w"/> computes its own share of the tiles (a contiguous run of the tile order, see
        /// <see cref="ComputeTile"/>), then helps with the others' remaining tiles. Each tile is taken exactly once by
        /// an atomic counter, and a worker the thread pool starts late (or never) just leaves more to help with.
        /// </summary>
        private void Work(int w)
        {
            int tiles = _rowTiles * _colTiles;
            for (int i = 0; i < _workers; i++)
            {
                int share = (w + i) % _workers;
                int end = (share + 1) * tiles / _workers;
                ref int next = ref _nextTile[share * CounterStride];
                for (int t = Interlocked.Increment(ref next) - 1; t < end; t = Interlocked.Increment(ref next) - 1)
                    ComputeTile(t);
            }
        }

        /// <summary>
        /// Tiles of up to <see cref="IGemmKernel.RowPanelsPerTile"/> row panels (balanced); with several threads the
        /// columns are split too, into about <see cref="TilesPerThread"/> tiles per thread.
        /// </summary>
        private int ChooseTiles()
        {
            _rowTiles = CeilDiv(_rowPanels, TKernel.RowPanelsPerTile);
            _rowPanelsPerTile = CeilDiv(_rowPanels, _rowTiles);
            // Where B is the larger block, at least one column tile per thread: each worker's share then holds whole
            // column tiles, whose B panels it packs and keeps in its own cache; otherwise the shares split the rows.
            int minColTiles = _nc >= _mc ? _threads : 1;
            int colTiles = _threads == 1 ? 1 : Math.Clamp(Math.Max(minColTiles, CeilDiv(TilesPerThread * _threads, _rowTiles)), 1, _colPanels);
            _colPanelsPerTile = CeilDiv(_colPanels, colTiles);
            _colTiles = CeilDiv(_colPanels, _colPanelsPerTile);
            int tiles = _rowTiles * _colTiles;
            _workers = Math.Min(_threads, tiles);
            return tiles;
        }

        /// <summary>
        /// Makes panels [first, end) packed: claims runs of panels nobody has claimed (a few at a time, so threads that
        /// need the same panels share the packing) and packs them, then waits for any another thread is packing (it
        /// packs without waiting first, so this cannot deadlock).
        /// Whoever packs, the panels hold the same values, so this changes no result.
        /// </summary>
        private void EnsurePacked(int[] states, int first, int end, in PanelPacking packing, int width)
        {
            int runLimit = Math.Max(1, PackRunFloats / (width * _kc));
            int q = first;
            while (q < end)
            {
                if (Volatile.Read(ref states[q]) != Unpacked || Interlocked.CompareExchange(ref states[q], Packing, Unpacked) != Unpacked)
                {
                    q++;
                    continue;
                }
                int runEnd = q + 1;
                while (runEnd < end && runEnd - q < runLimit && Volatile.Read(ref states[runEnd]) == Unpacked
                       && Interlocked.CompareExchange(ref states[runEnd], Packing, Unpacked) == Unpacked)
                    runEnd++;
                packing.PackPanels(q, runEnd);
                for (int r = q; r < runEnd; r++) Volatile.Write(ref states[r], Packed);
                q = runEnd;
            }
            for (q = first; q < end; q++)
            {
                if (Volatile.Read(ref states[q]) == Packed) continue;
                // The packer is running (it claimed the panel and packs before it waits for anything): spin, never sleep.
                var spin = new SpinWait();
                while (Volatile.Read(ref states[q]) != Packed)
                    spin.SpinOnce(sleep1Threshold: -1);
            }
        }

        /// <summary>
        /// Tile number <paramref name="tile"/> in column-tile-major order, so a worker's share covers whole column
        /// tiles (their B panels stay with the core that packed them) where there are enough; each column tile starts
        /// at another row tile, so workers starting together pack different A panels.
        /// </summary>
        private void ComputeTile(int tile)
        {
            int colTile = tile / _rowTiles;
            int rowTile = (tile % _rowTiles + (int)((long)colTile * _rowTiles / _colTiles)) % _rowTiles;
            ComputeTileAt(rowTile, colTile);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void ComputeTileAt(int rowTile, int colTile)
        {
            int rp0 = rowTile * _rowPanelsPerTile, rp1 = Math.Min(rp0 + _rowPanelsPerTile, _rowPanels);
            int cp0 = colTile * _colPanelsPerTile, cp1 = Math.Min(cp0 + _colPanelsPerTile, _colPanels);
            EnsurePacked(_colPanelStates, cp0, cp1, _packB, PanelCols);
            EnsurePacked(_rowPanelStates, rp0, rp1, _packA, PanelRows);
            float* edge = stackalloc float[TKernel.PanelRows * TKernel.PanelCols];
            // B micro-panel outer: it stays in L1 while the tile's A micro-panels (in L2) pass through.
            for (int cp = cp0; cp < cp1; cp++)
            {
                float* bPanel = _packedB + (nint)cp * PanelCols * _kc;
                int j0 = _jc + cp * PanelCols;
                int cols = Math.Min(PanelCols, _jc + _nc - j0);
                for (int rp = rp0; rp < rp1; rp++)
                {
                    float* aPanel = _packedA + (nint)rp * PanelRows * _kc;
                    int i0 = _ic + rp * PanelRows;
                    int rows = Math.Min(PanelRows, _ic + _mc - i0);
                    float* cBlock = _c + (nint)i0 * _n + j0;
                    if (rows == PanelRows && cols == PanelCols)
                    {
                        TKernel.Run(aPanel, bPanel, _kc, cBlock, _n, _addToC);
                    }
                    else
                    {
                        // Partial block at the edge of C: the same kernel into scratch, then the same one add per element.
                        TKernel.Run(aPanel, bPanel, _kc, edge, PanelCols, addToC: false);
                        for (int r = 0; r < rows; r++)
                        {
                            float* cRow = cBlock + (nint)r * _n;
                            float* eRow = edge + r * PanelCols;
                            for (int j = 0; j < cols; j++) cRow[j] = _addToC ? cRow[j] + eRow[j] : eRow[j];
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Packing scratch on the pinned object heap, 64-byte aligned, kept for the next call (one spare; a concurrent
    /// caller allocates its own) so steady-state calls neither allocate nor fault pages in.
    /// </summary>
    private sealed class PackBuffer
    {
        private static PackBuffer? s_spare;
        private readonly float[] _storage;

        private PackBuffer(long floats)
        {
            _storage = GC.AllocateUninitializedArray<float>(checked((int)floats + 16), pinned: true);
            nint start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_storage));
            Data = (float*)((start + 63) & ~(nint)63);
            Capacity = floats;
        }

        public float* Data { get; }

        public long Capacity { get; }

        public static PackBuffer Rent(long floats)
        {
            PackBuffer? spare = Interlocked.Exchange(ref s_spare, null);
            return spare is not null && spare.Capacity >= floats ? spare : new PackBuffer(floats);
        }

        public static void Return(PackBuffer buffer) => Volatile.Write(ref s_spare, buffer);
    }
}
