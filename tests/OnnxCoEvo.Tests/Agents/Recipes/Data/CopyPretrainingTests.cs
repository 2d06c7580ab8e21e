using OnnxCoEvo.Agents.Recipes.Data;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Trajectories;
using static OnnxCoEvo.Tests.Agents.Recipes.Data.FakeTrajectories;

namespace OnnxCoEvo.Tests.Agents.Recipes.Data;

public sealed class CopyPretrainingTests
{
    private static Trajectory Episode(string observation, string action) => Build("t1", 1, 1.0) with
    {
        Turns = [new ChatMessage(ChatRole.User, observation), new ChatMessage(ChatRole.Assistant, action)],
    };

    [Fact]
    public void Vocabulary_is_the_observations_words_lower_cased_sorted_and_distinct()
    {
        Trajectory episode = Episode("Instruction: [SEP] i want Dark chocolate, dark [SEP] B0A1N65E9H [SEP] $26.49 x", "search[zebra words]");
        CopyPretraining.Vocabulary vocabulary = CopyPretraining.VocabularyOf([episode]);
        // Only user turns count (not "zebra"); prices, one-letter words and punctuation are left out; ids are kept apart.
        Assert.Equal(["chocolate", "dark", "instruction", "sep", "want"], vocabulary.Words);
        Assert.Equal(["B0A1N65E9H"], vocabulary.Ids);
    }

    [Fact]
    public void Repeat_tasks_answer_with_the_prompt_words_and_are_deterministic_per_seed()
    {
        var vocabulary = new CopyPretraining.Vocabulary(["alpha", "beta", "gamma", "delta", "epsilon"], []);
        IReadOnlyList<Trajectory> tasks = CopyPretraining.RepeatTasks(vocabulary, 50, seed: 7);

        Assert.Equal(50, tasks.Count);
        Assert.Equal(50, tasks.Select(t => t.TaskId).Distinct().Count());
        foreach (Trajectory task in tasks)
        {
            Assert.Equal([ChatRole.User, ChatRole.Assistant], task.Turns.Select(t => t.Role));
            string answer = task.Turns[1].Content;
            Assert.Equal("Repeat: " + answer, task.Turns[0].Content);
            string[] words = answer.Split(' ');
            Assert.InRange(words.Length, 6, 16);
            Assert.All(words, w => Assert.Contains(w, vocabulary.Words));
            Assert.True(task.MeetsSuccessRule);
        }
        Assert.Equal(tasks.Select(t => t.Turns[1].Content), CopyPretraining.RepeatTasks(vocabulary, 50, seed: 7).Select(t => t.Turns[1].Content));
        Assert.NotEqual(tasks.Select(t => t.Turns[1].Content), CopyPretraining.RepeatTasks(vocabulary, 50, seed: 8).Select(t => t.Turns[1].Content));
        // Lengths and words vary: the task is copying, not a memorisable answer.
        Assert.True(tasks.Select(t => t.Turns[1].Content.Split(' ').Length).Distinct().Count() >= 5);
    }

    [Fact]
    public void Repeat_tasks_mix_in_fresh_ids_shaped_like_the_episodes_ids()
    {
        var vocabulary = new CopyPretraining.Vocabulary(["alpha", "beta"], ["B0A1N65E9H", "B07RMKSL12"]);
        string[] items = CopyPretraining.RepeatTasks(vocabulary, 200, seed: 1, CopyPretraining.IdShare).SelectMany(t => t.Turns[1].Content.Split(' ')).ToArray();
        string[] ids = items.Where(i => i is not ("alpha" or "beta")).ToArray();
        Assert.InRange(ids.Length / (double)items.Length, CopyPretraining.IdShare - 0.05, CopyPretraining.IdShare + 0.05);
        Assert.All(ids, id => Assert.Matches("^B0[A-Z0-9]{8}$", id));
        Assert.True(ids.Distinct().Count() > ids.Length * 9 / 10, "ids are fresh, not the episodes' own");
        // Without an id share (the first phase) only words.
        Assert.All(CopyPretraining.RepeatTasks(vocabulary, 50, seed: 1).SelectMany(t => t.Turns[1].Content.Split(' ')), w => Assert.Contains(w, vocabulary.Words));
        Assert.Throws<ArgumentOutOfRangeException>(() => CopyPretraining.RepeatTasks(vocabulary, 5, 1, idShare: 1.5));
    }

    [Fact]
    public void An_empty_vocabulary_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => CopyPretraining.RepeatTasks(new CopyPretraining.Vocabulary([], ["B0A1N65E9H"]), 3, 0));
        Assert.Contains("no words", error.Message);
    }
}
