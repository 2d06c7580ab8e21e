namespace OnnxCoEvo.Onnx.Generation;

/// <summary>When a turn's generation stops: sampling, stop conditions and the new-token budget.</summary>
public sealed record GenerationSettings
{
    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;

    /// <summary>Generated tokens at most (a stop token counts).</summary>
    public int MaxNewTokens { get; init; } = 128;

    /// <summary>Generation stops when the decoded text contains one; the text is cut before it.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Generation stops when one is sampled (the model's EOS, the template's end of turn); it adds no text.</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad setting.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Sampling);
        Sampling.Validate();
        if (MaxNewTokens < 1)
            throw new ArgumentException($"max new tokens must be at least 1, is {MaxNewTokens}", nameof(MaxNewTokens));
        if (StopStrings.Any(string.IsNullOrEmpty))
            throw new ArgumentException("stop strings must not be empty", nameof(StopStrings));
    }
}

/// <summary>
/// One episode's next turn: the whole conversation so far as token ids, ending with the generation prompt.
/// <paramref name="Seed"/> seeds the episode's sampler on its first turn; later turns continue the same stream.
/// <paramref name="Constraint"/>, when given, limits this turn's text (see <see cref="IDecodeConstraint"/>).
/// </summary>
public sealed record GenerationRequest(long EpisodeId, IReadOnlyList<int> PromptTokens, ulong Seed = 0, IDecodeConstraint? Constraint = null);

public enum GenerationStopReason
{
    StopToken,
    StopString,
    MaxNewTokens,

    /// <summary>The prompt (plus what was generated) filled the model's context.</summary>
    ContextFull,

    /// <summary>The request's <see cref="IDecodeConstraint"/> was satisfied and allowed nothing more (a complete action).</summary>
    ConstraintComplete,
}

/// <param name="Text">The decoded text, cut before a stop string; a stop token adds nothing.</param>
/// <param name="TokenIds">Every sampled token, the stop token included.</param>
/// <param name="ReusedTokens">Prompt tokens whose KV came from the episode's cache instead of being prefilled.</param>
public sealed record GenerationResult(string Text, int[] TokenIds, GenerationStopReason StopReason, int PromptTokens, int ReusedTokens)
{
    public int PrefilledTokens => PromptTokens - ReusedTokens;
}

/// <summary>Counters over a generator's calls (prefill and decode timed separately).</summary>
public sealed record GeneratorStatistics(int Calls, long PromptTokens, long ReusedTokens, long PrefillTokens, TimeSpan PrefillTime,
    long GeneratedTokens, TimeSpan DecodeTime)
{
    public double PrefillTokensPerSecond => PrefillTime > TimeSpan.Zero ? PrefillTokens / PrefillTime.TotalSeconds : 0;

    public double DecodeTokensPerSecond => DecodeTime > TimeSpan.Zero ? GeneratedTokens / DecodeTime.TotalSeconds : 0;
}
