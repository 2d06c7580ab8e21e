namespace OnnxCoEvo.Agents.Protocol;

/// <summary>An assistant turn split into thought and action; <see cref="Action"/> is null when the turn has no parseable action.</summary>
public sealed record ReActStep(string? Thought, string? Action)
{
    public bool IsValid => Action is not null;
}

/// <summary>
/// Parses "Thought: ...\nAction: ..." turns. Rules (ETO's regex <c>Action: (.*)</c> and AgentGym's
/// <c>rsplit("Action:", 1)</c> reconciled): the action is the text after the last "Action:", trimmed, up to the first
/// line break after its first non-blank line (a model that keeps writing an imagined observation does not smuggle it
/// into the action); a trailing end-of-sequence marker ("&lt;/s&gt;", "&lt;|im_end|&gt;", "&lt;|eot_id|&gt;") is dropped.
/// The thought is the text between "Thought:" and that "Action:", trimmed.
/// </summary>
public static class ReActParser
{
    private static readonly string[] EndMarkers = ["</s>", "<|im_end|>", "<|eot_id|>", "<|endoftext|>"];

    public static ReActStep Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int actionAt = text.LastIndexOf("Action:", StringComparison.Ordinal);
        string? thought = ParseThought(text, actionAt < 0 ? text.Length : actionAt);
        if (actionAt < 0)
            return new ReActStep(thought, null);

        ReadOnlySpan<char> rest = text.AsSpan(actionAt + "Action:".Length).TrimStart();
        int lineEnd = rest.IndexOfAny('\r', '\n');
        if (lineEnd >= 0)
            rest = rest[..lineEnd];
        string action = StripEndMarkers(rest.Trim().ToString());
        return new ReActStep(thought, action.Length == 0 ? null : action);
    }

    /// <summary>The assistant turn a scripted policy writes: "Thought: {thought}\nAction: {action}".</summary>
    public static string Format(string thought, string action) => $"Thought: {thought}\nAction: {action}";

    private static string? ParseThought(string text, int end)
    {
        int at = text.IndexOf("Thought:", StringComparison.Ordinal);
        if (at < 0 || at >= end)
            return null;
        string thought = text[(at + "Thought:".Length)..end].Trim();
        return thought.Length == 0 ? null : thought;
    }

    private static string StripEndMarkers(string action)
    {
        bool stripped = true;
        while (stripped)
        {
            stripped = false;
            foreach (string marker in EndMarkers)
                if (action.EndsWith(marker, StringComparison.Ordinal))
                {
                    action = action[..^marker.Length].TrimEnd();
                    stripped = true;
                }
        }
        return action;
    }
}
