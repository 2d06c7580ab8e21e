namespace OnnxCoEvo.Onnx.Generation;

/// <summary>Tokens to append to one sequence slot's KV cache in a <see cref="IDecoderModel.Forward"/> call.</summary>
public readonly record struct DecoderStep(int Slot, ReadOnlyMemory<int> Tokens);

/// <summary>
/// A causal decoder that keeps a KV cache per sequence slot. One call appends tokens to several slots and returns the
/// logits after each slot's last new token: a prompt prefill (many tokens) and a decode step (one token) are the same
/// call. Slots are small non-negative integers chosen by the caller; a slot's cache starts empty on first use.
/// Not thread-safe.
/// </summary>
public interface IDecoderModel : IDisposable
{
    /// <summary>Logits per position (the model's vocabulary, possibly larger than the tokenizer's).</summary>
    int VocabSize { get; }

    /// <summary>The most tokens one slot can hold (context length).</summary>
    int MaxSequenceLength { get; }

    /// <summary>Tokens in the slot's cache (0 for a slot never used or released).</summary>
    int CachedLength(int slot);

    /// <summary>Keeps the first <paramref name="length"/> cached tokens of the slot (0 empties it); a longer length is an error.</summary>
    void Truncate(int slot, int length);

    /// <summary>Frees the slot's cache memory.</summary>
    void Release(int slot);

    /// <summary>
    /// Appends each step's tokens (at least one each, one step per slot) and writes the logits of its last token to
    /// <paramref name="logits"/>[i * VocabSize .. (i + 1) * VocabSize).
    /// </summary>
    void Forward(IReadOnlyList<DecoderStep> steps, Span<float> logits);
}

/// <summary>Argument checks shared by the decoder implementations.</summary>
internal static class DecoderChecks
{
    public static void Steps(IDecoderModel model, IReadOnlyList<DecoderStep> steps, Span<float> logits, Func<int, int> cachedLength)
    {
        ArgumentNullException.ThrowIfNull(steps);
        if (logits.Length < (long)steps.Count * model.VocabSize)
            throw new ArgumentException($"logits holds {logits.Length} floats; {steps.Count} steps need {(long)steps.Count * model.VocabSize}", nameof(logits));
        var seen = new HashSet<int>();
        foreach (DecoderStep step in steps)
        {
            if (step.Slot < 0) throw new ArgumentException($"slot {step.Slot} is negative", nameof(steps));
            if (!seen.Add(step.Slot)) throw new ArgumentException($"slot {step.Slot} appears twice in one call", nameof(steps));
            if (step.Tokens.IsEmpty) throw new ArgumentException($"slot {step.Slot}: a step needs at least one token", nameof(steps));
            int total = cachedLength(step.Slot) + step.Tokens.Length;
            if (total > model.MaxSequenceLength)
                throw new ArgumentException($"slot {step.Slot}: {total} tokens exceed the context length {model.MaxSequenceLength}", nameof(steps));
            foreach (int id in step.Tokens.Span)
                if ((uint)id >= (uint)model.VocabSize)
                    throw new ArgumentException($"slot {step.Slot}: token id {id} is outside the vocabulary [0, {model.VocabSize})", nameof(steps));
        }
    }

    public static void Truncation(int slot, int length, int cached)
    {
        if (length < 0 || length > cached)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"slot {slot} holds {cached} tokens; cannot keep {length}");
    }
}
