using System.Globalization;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Agents.Recipes.Data;

/// <summary>
/// Warm-up data for a model trained from random weights, built from the words and ids of an environment's own episodes.
/// An agent copies all the time (search keywords from the instruction, a product id from the results, an option from
/// the item page); a pretrained LLM brings that skill, a random tiny model does not, and learning it from agent
/// episodes alone takes millions of tokens because each episode holds only a handful of copies. Repeat tasks teach it
/// directly: "Repeat: w1 ... wn" answered with the same words (induction: copy what followed the last time this token
/// appeared). Deterministic in (seed, episodes, count, id share).
/// </summary>
public static class CopyPretraining
{
    public const string Environment = "copy-pretraining";
    public const string Repeat = "repeat";

    /// <summary>The words and ids of the episodes' observations.</summary>
    public sealed record Vocabulary(IReadOnlyList<string> Words, IReadOnlyList<string> Ids);

    /// <summary>Share of the items of a repeat task that are fresh ids in the second phase of a warm-up.</summary>
    public const double IdShare = 0.3;

    /// <summary>
    /// Words (letters only, 2-11 characters, lower-cased) and ids (6-16 upper-case letters and digits with at least one
    /// of each, such as WebShop's ASINs) of every observation, each kind sorted and distinct.
    /// </summary>
    public static Vocabulary VocabularyOf(IEnumerable<Trajectory> episodes)
    {
        ArgumentNullException.ThrowIfNull(episodes);
        var words = new SortedSet<string>(StringComparer.Ordinal);
        var ids = new SortedSet<string>(StringComparer.Ordinal);
        foreach (Trajectory episode in episodes)
            foreach (ChatMessage turn in episode.Turns)
            {
                if (turn.Role != ChatRole.User)
                    continue;
                foreach (string token in turn.Content.Split([' ', '\n', '\t', ',', '.', ':', ';', '[', ']', '(', ')', '"'], StringSplitOptions.RemoveEmptyEntries))
                {
                    if (IsId(token))
                        ids.Add(token);
                    else if (token.Length is >= 2 and <= 11 && token.All(char.IsAsciiLetter))
                        words.Add(token.ToLowerInvariant());
                }
            }
        return new Vocabulary([.. words], [.. ids]);
    }

    /// <summary>
    /// <paramref name="count"/> repeat tasks of 6-16 items each: words, and with probability <paramref name="idShare"/> a
    /// fresh id in the shape of the episodes' ids (a real id with all but its first two characters redrawn), because ids
    /// such as ASINs are the strings an agent must copy exactly and they break into different tokens than words.
    /// Measured on the tiny model: words alone first (the induction phase change comes after ~400 steps of 16 tasks),
    /// then a pass with ids (~250 steps to copy them too); ids from the start delay the phase change past 750 steps.
    /// </summary>
    public static IReadOnlyList<Trajectory> RepeatTasks(Vocabulary vocabulary, int count, ulong seed, double idShare = 0)
    {
        RequireWords(vocabulary);
        if (!(idShare is >= 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(idShare), idShare, "the share of ids must be in [0, 1]");
        var random = new Xoshiro256StarStar(DeterministicRandom.DeriveSeed(seed, $"copy-pretraining/{Repeat}/{idShare.ToString("R", CultureInfo.InvariantCulture)}"));
        var tasks = new Trajectory[count];
        for (int i = 0; i < count; i++)
        {
            string words = Words(vocabulary, ref random, 6 + Next(ref random, 11), idShare);
            tasks[i] = Task(Repeat, i, "Repeat: " + words, words);
        }
        return tasks;
    }

    private static string Words(Vocabulary vocabulary, ref Xoshiro256StarStar random, int count, double idShare)
    {
        var words = new string[count];
        for (int w = 0; w < count; w++)
            words[w] = vocabulary.Ids.Count > 0 && random.NextDouble() < idShare
                ? FreshId(vocabulary.Ids[Next(ref random, vocabulary.Ids.Count)], ref random)
                : vocabulary.Words[Next(ref random, vocabulary.Words.Count)];
        return string.Join(' ', words);
    }

    /// <summary>6-16 upper-case letters and digits with at least one of each (WebShop's ASINs).</summary>
    public static bool IsId(string token) =>
        token.Length is >= 6 and <= 16 && token.All(c => char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c))
        && token.Any(char.IsAsciiDigit) && token.Any(char.IsAsciiLetterUpper);

    private static string FreshId(string shape, ref Xoshiro256StarStar random)
    {
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        char[] id = shape.ToCharArray();
        for (int c = 2; c < id.Length; c++)
            id[c] = Alphabet[Next(ref random, Alphabet.Length)];
        return new string(id);
    }

    private static int Next(ref Xoshiro256StarStar random, int bound) => (int)(random.NextDouble() * bound);

    private static void RequireWords(Vocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        if (vocabulary.Words.Count == 0)
            throw new ArgumentException("copy pretraining: the episodes' observations hold no words to build tasks from", nameof(vocabulary));
    }

    private static Trajectory Task(string kind, int index, string prompt, string answer) => new()
    {
        TaskId = $"{kind}_{index.ToString(CultureInfo.InvariantCulture)}",
        Environment = Environment,
        Split = kind,
        Policy = "synthetic",
        Reward = 1.0,
        Success = true,
        Steps = 1,
        EndReason = TrajectoryEndReason.Done,
        Turns = [new ChatMessage(ChatRole.User, prompt), new ChatMessage(ChatRole.Assistant, answer)],
    };
}
