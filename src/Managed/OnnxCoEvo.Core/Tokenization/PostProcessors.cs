namespace OnnxCoEvo.Core.Tokenization;

/// <summary>A tokenizer.json post-processor: adds special tokens around an encoded sequence.</summary>
public abstract record PostProcessor
{
    /// <summary>Rewrites the ids of one encoded sequence (single-sequence template; pairs are not encoded here).</summary>
    internal abstract void Apply(List<int> ids);
}

/// <summary>ByteLevel post-processor: only trims offsets in Hugging Face, so it leaves ids as they are.</summary>
public sealed record ByteLevelPostProcessor(bool AddPrefixSpace, bool TrimOffsets, bool UseRegex) : PostProcessor
{
    internal override void Apply(List<int> ids) { }
}

/// <summary>One item of a TemplateProcessing template: a named special token, or sequence "A"/"B".</summary>
public sealed record TemplateItem(bool IsSpecialToken, string Id, int TypeId);

/// <summary>A special token a template names, with the ids it expands to.</summary>
public sealed record TemplateSpecialToken(string Id, IReadOnlyList<int> Ids, IReadOnlyList<string> Tokens);

/// <summary>
/// TemplateProcessing, as Llama-3 uses it to put &lt;|begin_of_text|&gt; before every encoded sequence. Only the
/// single template applies (this toolkit never encodes sentence pairs); the pair template is kept for saving.
/// </summary>
public sealed record TemplatePostProcessor(
    IReadOnlyList<TemplateItem> Single,
    IReadOnlyList<TemplateItem> Pair,
    IReadOnlyList<TemplateSpecialToken> SpecialTokens) : PostProcessor
{
    internal override void Apply(List<int> ids)
    {
        var result = new List<int>(ids.Count + 4);
        foreach (var item in Single)
        {
            if (!item.IsSpecialToken) result.AddRange(ids);
            else result.AddRange(SpecialTokens.First(t => t.Id == item.Id).Ids);
        }
        ids.Clear();
        ids.AddRange(result);
    }

    /// <summary>The usual "prepend BOS" template: single = [bos, A], pair = [bos, A, bos, B].</summary>
    public static TemplatePostProcessor PrependToken(string token, int id) => new(
        [new TemplateItem(true, token, 0), new TemplateItem(false, "A", 0)],
        [new TemplateItem(true, token, 0), new TemplateItem(false, "A", 0), new TemplateItem(true, token, 1), new TemplateItem(false, "B", 1)],
        [new TemplateSpecialToken(token, [id], [token])]);
}

/// <summary>Several post-processors applied in order.</summary>
public sealed record SequencePostProcessor(IReadOnlyList<PostProcessor> Processors) : PostProcessor
{
    internal override void Apply(List<int> ids)
    {
        foreach (var p in Processors) p.Apply(ids);
    }
}

/// <summary>The ByteLevel decoder (the only decoder byte-level BPE needs); kept so saving writes what was loaded.</summary>
public sealed record ByteLevelDecoder(bool AddPrefixSpace, bool TrimOffsets, bool UseRegex);
