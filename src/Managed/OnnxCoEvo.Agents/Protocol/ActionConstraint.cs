using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Onnx.Generation;

namespace OnnxCoEvo.Agents.Protocol;

/// <summary>
/// The actions an environment accepts in one state, as text after "Action: ". <see cref="Exact"/> are whole actions
/// (WebShop's "click[b0...]" for each clickable, household's admissible commands); <see cref="Open"/> are prefixes
/// after which the argument is free up to <see cref="OpenClose"/> (WebShop's "search[" ... "]").
/// </summary>
public sealed record ActionChoices(IReadOnlyList<string> Exact, IReadOnlyList<string> Open, string OpenClose, StringComparison Comparison)
{
    /// <summary>No action at all (a state with nothing to do): nothing to constrain to.</summary>
    public bool IsEmpty => Exact.Count == 0 && Open.Count == 0;
}

/// <summary>
/// Constrained decoding of a ReAct action: the thought is free; once the model has written "Action:", what follows
/// must be one of the state's <see cref="ActionChoices"/> (after the single space of the trained format), and the turn
/// ends as soon as a whole action is written. A small model that means to click a product but garbles its id by a
/// character still clicks a product; which one, and every other decision, stays the model's (the mask only removes
/// tokens that lead outside the action space, the model's own probabilities choose among the rest). The same idea
/// as mapping a generated action to the nearest admissible one (Huang et al. 2022), done token by token.
/// </summary>
public sealed class ReActActionConstraint : IDecodeConstraint
{
    private const string ActionMarker = "Action:";
    private static readonly IReadOnlyList<string> Complete = [""];
    private readonly ActionChoices _choices;

    public ReActActionConstraint(ActionChoices choices)
    {
        ArgumentNullException.ThrowIfNull(choices);
        if (choices.IsEmpty)
            throw new ArgumentException("an action constraint needs at least one action", nameof(choices));
        _choices = choices;
    }

    public StringComparison Comparison => _choices.Comparison;

    public IReadOnlyList<string>? Continuations(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int at = text.LastIndexOf(ActionMarker, StringComparison.Ordinal);
        if (at < 0)
            return null;
        // Everything after "Action:", the single space of the trained format included: tokenizers glue that space to
        // the next word (" click"), so the space must not be forced as a token of its own.
        ReadOnlySpan<char> typed = text.AsSpan(at + ActionMarker.Length);
        if (!typed.IsEmpty && typed[0] != ' ')
            return null; // "Action:" inside a thought, or a format the grammar does not cover
        ReadOnlySpan<char> action = typed.IsEmpty ? typed : typed[1..];

        foreach (string open in _choices.Open)
        {
            if (action.StartsWith(open, _choices.Comparison))
                return action[open.Length..].Contains(_choices.OpenClose, StringComparison.Ordinal) ? Complete : null;
        }
        var continuations = new List<string>();
        bool whole = false;
        foreach (string choice in _choices.Exact.Concat(_choices.Open))
        {
            string full = " " + choice;
            if (full.Length < typed.Length || !full.AsSpan().StartsWith(typed, _choices.Comparison))
                continue;
            if (full.Length == typed.Length)
                whole = true;
            else
                continuations.Add(full[typed.Length..]);
        }
        if (whole)
            continuations.Add("");
        // Nothing matches what is typed (the turn started off-grammar, or the mask was dropped): leave it free.
        return continuations.Count == 0 ? null : continuations.Count == 1 && whole ? Complete : continuations;
    }

    /// <summary>
    /// WebShop's actions in a state, as <c>get_available_actions()</c> gives them: "click[x]" for each clickable and,
    /// where the page has the search bar, "search[...]". The clickables come lower-cased; each is written as the page
    /// shows it (<paramref name="observation"/>'s " [SEP] " pieces: "B0ABC12345", "Buy Now"), the form the model copies.
    /// </summary>
    public static ActionChoices WebShopChoices(ActionSpace space, string observation)
    {
        ArgumentNullException.ThrowIfNull(space);
        ArgumentNullException.ThrowIfNull(observation);
        var shown = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string piece in observation.Split(" [SEP] "))
            shown.TryAdd(piece.Trim().ToLowerInvariant(), piece.Trim());
        // The search button is a clickable on the search page, but clicking it does nothing (WebShop's step ignores it).
        string[] clicks = space.Commands.Where(c => !c.Equals("search", StringComparison.OrdinalIgnoreCase))
            .Select(c => $"click[{shown.GetValueOrDefault(c, c)}]").ToArray();
        return new ActionChoices(clicks, space.HasSearchBar ? ["search["] : [], "]", StringComparison.Ordinal);
    }

    /// <summary>Household (ALFWorld): the admissible commands, exactly.</summary>
    public static ActionChoices CommandChoices(ActionSpace space, string observation)
    {
        ArgumentNullException.ThrowIfNull(space);
        return new ActionChoices(space.Commands, [], "", StringComparison.Ordinal);
    }
}
