using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OnnxCoEvo.Training.Cpu;

/// <summary>
/// Cache-blocked, packed, multi-threaded GEMM (the BLIS loop nest). For each block of columns (NC) and of depth (KC):
/// pack op(B) into k-major micro-panels 16 wide (spread over the threads), then compute output tiles in parallel with
/// the 6x16 microkernel. The first tile to need a block of op(A) rows packs it into micro-panels 6 high: packing
/// (memory-bound) then overlaps the other threads' computing, and the packed rows stay in the cache of the core that
/// uses them.
/// Threads share out output tiles only; the depth blocks run in order for every tile, so each C element sees the same
/// sequence of operations (per depth block: a fused chain over p from zero, then one add into C) whatever the
/// thread count.
/// </summary>
internal static unsafe class GemmBlocked
{
    private const int PanelRows = GemmKernels.PanelRows;
    private const int PanelCols = GemmKernels.PanelCols;

    /// <summary>KC: a B micro-panel (256 x 16 fp32 = 16 KiB) stays in L1 while A micro-panels stream past it.</summary>
    private const int DepthBlock = 256;

    /// <summary>NC: bounds the packed B block to 256 x 4096 fp32 = 4 MiB (vocabulary-sized n would not fit).</summary>
    private const int ColumnBlock = 4096;

    /// <summary>Bounds the packed A slab to 3072 x 256 fp32 = 3 MiB.</summary>
    private const int RowSlab = 3072;

    /// <summary>MC = 96 rows: a tile's A block (96 KiB) stays in L2 while it sweeps the tile's B micro-panels.</summary>
    private const int RowPanelsPerTile = 16;

    /// <summary>Multiply-adds per thread (about 100 us of one core) below which another thread's wake-up and barriers cost more than it saves.</summary>
    private const long MinWorkPerThread = 1L << 22;

    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k,
        bool transA, bool transB, bool accumulate, int maxThreads)
    {
        long work = (long)m * n * k;
        int threads = (int)Math.Clamp(work / MinWorkPerThread, 1, maxThreads);

        long packedAFloats = RoundUp(Math.Min(m, RowSlab), PanelRows) * (long)Math.Min(k, DepthBlock);
        long packedBOffset = RoundUp(packedAFloats, PanelCols);   // keeps B panels 64-byte aligned
        long packedBFloats = RoundUp(Math.Min(n, ColumnBlock), PanelCols) * (long)Math.Min(k, DepthBlock);
        PackBuffer buffer = PackBuffer.Rent(packedBOffset + packedBFloats);
        try
        {
            fixed (float* pa = a, pb = b, pc = c)
            {
                new Job(pa, pb, pc, m, n, k, transA, transB, accumulate, buffer.Data, buffer.Data + packedBOffset, threads).Run();
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
    private sealed class Job
    {
        private readonly float* _a, _b, _c, _packedA, _packedB;
        private readonly int _m, _n, _k, _threads;
        private readonly bool _transA, _transB, _accumulate;
        private readonly ParallelOptions _parallelOptions;
        private readonly Action<int> _packBItem, _computeTile;

        // Per row tile of the current block: whether its A panels are packed (see EnsureRowTilePacked).
        private readonly int[] _rowTileStates;
        private const int Unpacked = 0, Packing = 1, Packed = 2;

        // The current block: columns [_jc, _jc + _nc), depth [_pc, _pc + _kc), rows [_ic, _ic + _mc).
        private int _jc, _nc, _pc, _kc, _ic, _mc;
        private bool _addToC;
        private PanelPacking _packA, _packB;
        private int _rowPanels, _colPanels, _rowPanelsPerTile, _colPanelsPerTile, _colTiles;

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
            _packBItem = item => _packB.PackItem(item);
            _computeTile = ComputeTile;
            _rowTileStates = new int[CeilDiv(CeilDiv(Math.Min(m, RowSlab), PanelRows), RowPanelsPerTile)];
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
                    for (_ic = 0; _ic < _m; _ic += RowSlab)
                    {
                        _mc = Math.Min(RowSlab, _m - _ic);
                        _rowPanels = CeilDiv(_mc, PanelRows);
                        _packA = _transA
                            ? new PanelPacking(_a + (nint)_pc * _m + _ic, _m, linesAlongDepth: false, _mc, _kc, PanelRows, _packedA)
                            : new PanelPacking(_a + (nint)_ic * _k + _pc, _k, linesAlongDepth: true, _mc, _kc, PanelRows, _packedA);
                        if (_ic == 0)
                            ForEach(_packB.Items, _packBItem);   // one packed B block serves every row slab
                        int tiles = ChooseTiles();
                        ForEach(tiles, _computeTile);
                    }
                }
            }
        }

        private void ForEach(int count, Action<int> body)
        {
            if (_threads == 1 || count == 1)
            {
                for (int i = 0; i < count; i++) body(i);
            }
            else
            {
                Parallel.For(0, count, _parallelOptions, body);
            }
        }

        /// <summary>
        /// Tiles of up to 16 row panels (balanced); with several threads the columns are split too, so there are
        /// about four tiles per thread for dynamic load balance (another process may hold a core).
        /// </summary>
        private int ChooseTiles()
        {
            int rowTiles = CeilDiv(_rowPanels, RowPanelsPerTile);
            _rowPanelsPerTile = CeilDiv(_rowPanels, rowTiles);
            int colTiles = _threads == 1 ? 1 : Math.Clamp(CeilDiv(4 * _threads, rowTiles), 1, _colPanels);
            _colPanelsPerTile = CeilDiv(_colPanels, colTiles);
            _colTiles = CeilDiv(_colPanels, _colPanelsPerTile);
            Array.Clear(_rowTileStates);
            return rowTiles * _colTiles;
        }

        /// <summary>
        /// Packs the A panels of a row tile on first use; a tile of the same rows arriving meanwhile waits for it
        /// (rare: tiles are numbered row tile first and the threads start in different parts of that range).
        /// Whoever packs, the panels hold the same values, so this changes no result.
        /// </summary>
        private void EnsureRowTilePacked(int rowTile, int firstPanel, int endPanel)
        {
            ref int state = ref _rowTileStates[rowTile];
            if (Volatile.Read(ref state) == Packed)
                return;
            if (Interlocked.CompareExchange(ref state, Packing, Unpacked) == Unpacked)
            {
                _packA.PackPanels(firstPanel, endPanel);
                Volatile.Write(ref state, Packed);
                return;
            }
            var spin = new SpinWait();
            while (Volatile.Read(ref state) != Packed)
                spin.SpinOnce();
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void ComputeTile(int tile)
        {
            int rowTile = tile / _colTiles, colTile = tile % _colTiles;
            int rp0 = rowTile * _rowPanelsPerTile, rp1 = Math.Min(rp0 + _rowPanelsPerTile, _rowPanels);
            int cp0 = colTile * _colPanelsPerTile, cp1 = Math.Min(cp0 + _colPanelsPerTile, _colPanels);
            EnsureRowTilePacked(rowTile, rp0, rp1);
            float* edge = stackalloc float[PanelRows * PanelCols];
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
                        GemmKernels.Kernel6x16(aPanel, bPanel, _kc, cBlock, _n, _addToC);
                    }
                    else
                    {
                        // Partial block at the edge of C: the same kernel into scratch, then the same one add per element.
                        GemmKernels.Kernel6x16(aPanel, bPanel, _kc, edge, PanelCols, addToC: false);
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
