using OnnxCoEvo.Onnx.Generation;

namespace OnnxCoEvo.Tests.Onnx.Generation;

/// <summary>
/// A fake decoder: the next token is a function of the slot's whole sequence (one-hot logits), and every call is
/// recorded, so tests see exactly which tokens were prefilled and when caches were truncated or released.
/// </summary>
internal sealed class ScriptedDecoderModel(int vocabSize, Func<IReadOnlyList<int>, int> next, int maxSequenceLength = 4096) : IDecoderModel
{
    private readonly Dictionary<int, List<int>> _slots = [];

    public int VocabSize => vocabSize;
    public int MaxSequenceLength => maxSequenceLength;

    /// <summary>Per Forward call: (slot, tokens appended).</summary>
    public List<(int Slot, int[] Tokens)[]> Calls { get; } = [];

    public List<int> Released { get; } = [];

    public IReadOnlyList<int> Sequence(int slot) => _slots.TryGetValue(slot, out List<int>? tokens) ? tokens : [];

    public int CachedLength(int slot) => Sequence(slot).Count;

    public void Truncate(int slot, int length)
    {
        if (_slots.TryGetValue(slot, out List<int>? tokens)) tokens.RemoveRange(length, tokens.Count - length);
        else if (length != 0) throw new ArgumentOutOfRangeException(nameof(length));
    }

    public void Release(int slot)
    {
        _slots.Remove(slot);
        Released.Add(slot);
    }

    public void Forward(IReadOnlyList<DecoderStep> steps, Span<float> logits)
    {
        Calls.Add(steps.Select(s => (s.Slot, s.Tokens.ToArray())).ToArray());
        for (int i = 0; i < steps.Count; i++)
        {
            if (!_slots.TryGetValue(steps[i].Slot, out List<int>? tokens)) _slots[steps[i].Slot] = tokens = [];
            tokens.AddRange(steps[i].Tokens.Span);
            Span<float> row = logits.Slice(i * vocabSize, vocabSize);
            row.Clear();
            row[next(tokens)] = 10f;
        }
    }

    public void Dispose() { }
}
