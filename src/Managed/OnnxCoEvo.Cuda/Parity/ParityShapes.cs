namespace OnnxCoEvo.Cuda.Parity;

/// <summary>
/// The shapes the parity harness runs: model dimensions, the packed batch (sequence starts) and the sampled rows.
/// <see cref="Llama32_1B"/> is the real one (what `coevo bench kernels --check` and the GPU tests run);
/// <see cref="Small"/> keeps every code path (several sequences with partial tiles, repeated ids, a chunked head) at a
/// size a CPU emulation checks in milliseconds.
/// </summary>
public sealed record ParityShapes(string Name, int Dim, int Heads, int KvHeads, int HeadDim, int Vocab, int Ffn, int[] SequenceStarts,
    int Rank, int ScoredTokens, int ChunkRows, int SampleRows, int DpoPairs)
{
    public int Tokens => SequenceStarts[^1];

    /// <summary>Llama-3.2-1B: d 2048, 32 query / 8 kv heads of 64, ffn 8192, vocab 128256; 640 tokens in three
    /// sequences of uneven length; LoRA r16; 96 scored tokens through the head in chunks of 40 rows.</summary>
    public static ParityShapes Llama32_1B { get; } = new("llama-3.2-1b", Dim: 2048, Heads: 32, KvHeads: 8, HeadDim: 64, Vocab: 128256,
        Ffn: 8192, SequenceStarts: [0, 100, 357, 640], Rank: 16, ScoredTokens: 96, ChunkRows: 40, SampleRows: 32, DpoPairs: 8);

    /// <summary>Llama-3.1-8B's attention (32 / 8 heads of 128) on the same batch: the head_dim 128 kernels.</summary>
    public static ParityShapes Llama31_8BAttention { get; } = Llama32_1B with { Name = "llama-3.1-8b-attention", Dim = 4096, HeadDim = 128 };

    public static ParityShapes Small { get; } = new("small", Dim: 64, Heads: 4, KvHeads: 2, HeadDim: 64, Vocab: 1000, Ffn: 96,
        SequenceStarts: [0, 30, 97, 112], Rank: 4, ScoredTokens: 37, ChunkRows: 16, SampleRows: 6, DpoPairs: 3);

    public override string ToString() => $"{Name}: d {Dim}, heads {Heads}/{KvHeads}x{HeadDim}, vocab {Vocab}, ffn {Ffn}, " +
        $"{Tokens} tokens in {SequenceStarts.Length - 1} sequences";
}

/// <summary>
/// One output of one kernel checked against DESIGN.md's parity rule: <see cref="KernelError"/> = max |device - fp32
/// reference| must be at most <see cref="Budget"/> = 2 x <see cref="NaiveError"/> (max |naive bf16 - reference|) + a
/// floor of 2^-20 x max |reference| (fp32 noise, for outputs the naive computation also gets exactly).
/// </summary>
public sealed record ParityResult(string Kernel, string Output, string Twin, string Shape, double KernelError, double NaiveError,
    double Budget, bool Passed, string? Note = null)
{
    /// <summary>KernelError / (2 NaiveError + floor): at most 1 to pass.</summary>
    public double BudgetUsed => Budget > 0 ? KernelError / Budget : (KernelError == 0 ? 0 : double.PositiveInfinity);
}

/// <summary>The sampler's twin (OnnxCoEvo.Onnx.Generation.TokenSampler.Candidates): ids most likely first with their
/// renormalised probabilities. OnnxCoEvo.Cuda sits below OnnxCoEvo.Onnx, so the caller passes it in.</summary>
public delegate (int[] Ids, double[] Probabilities) SamplerTwin(ReadOnlySpan<float> logits, double temperature, int topK, double topP);
