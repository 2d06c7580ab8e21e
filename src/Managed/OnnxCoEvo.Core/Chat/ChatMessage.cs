namespace OnnxCoEvo.Core.Chat;

/// <summary>Who speaks a turn. Environment observations are <see cref="User"/> turns, as in ETO and AgentGym.</summary>
public enum ChatRole
{
    System,
    User,
    Assistant,
}

/// <summary>
/// One turn of a conversation. <paramref name="Loss"/> is AgentGym's per-turn flag and only matters for
/// assistant turns: null or true means the turn is trained on, false keeps it in context but masks it out
/// of the loss (EEF masks harmful expert actions this way).
/// </summary>
public sealed record ChatMessage(ChatRole Role, string Content, bool? Loss = null)
{
    /// <summary>True when this turn's tokens count in the training loss.</summary>
    public bool IsTrained => Role == ChatRole.Assistant && Loss != false;

    public static ChatMessage System(string content) => new(ChatRole.System, content);
    public static ChatMessage User(string content) => new(ChatRole.User, content);
    public static ChatMessage Assistant(string content, bool? loss = null) => new(ChatRole.Assistant, content, loss);
}
