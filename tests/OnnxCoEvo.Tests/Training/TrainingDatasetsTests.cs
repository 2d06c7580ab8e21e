using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Tokenization;
using OnnxCoEvo.Core.Trajectories;
using OnnxCoEvo.Training.Data;

namespace OnnxCoEvo.Tests.Training;

/// <summary>ConversationEncoder + TrainingDatasets: which tokens are trained, and the bad-input stops.</summary>
public sealed class TrainingDatasetsTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private static readonly ConversationEncoder Encoder = new(ChatTemplates.Create("plain", TinyTokenizerFactory.Create()));

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Sft_trains_assistant_turns_except_those_flagged_off()
    {
        var (examples, report) = TrainingDatasets.ReadSft(TrainingSamples.WriteSft(_dir, 3), null, Encoder, 4096, OverlengthPolicy.Error);
        Assert.Equal(3, examples.Count);
        Assert.Equal(3, report.Kept);
        TrainingSequence s = examples[0].Sequence;
        string trained = Encoder.Template.Tokenizer.Decode(s.TokenIds.Where((_, i) => s.LossMask[i]).ToArray());
        Assert.Contains("Action: search[red mug]", trained);
        Assert.Contains("Action: click[buy now]", trained);
        Assert.DoesNotContain("OK", trained);              // loss:false turn
        Assert.DoesNotContain("Observation", trained);     // user turns
        Assert.Equal(report.TrainedTokens, examples.Sum(e => (long)e.Sequence.ScoredTokenCount));
    }

    [Fact]
    public void Sft_cuts_the_final_observation_that_no_trained_token_follows()
    {
        Trajectory withTail = TrainingSamples.Episode(0) with
        {
            Turns = [.. TrainingSamples.Episode(0).Turns, ChatMessage.User("Observation: Thank you for shopping with us! [SEP] Your score 1.0")],
        };
        string path = TrainingSamples.WriteSft(_dir, 1, make: _ => withTail);
        TrainingSequence cut = TrainingDatasets.ReadSft(path, null, Encoder, 4096, OverlengthPolicy.Error).Examples[0].Sequence;
        TrainingSequence full = Encoder.Encode(withTail.Turns);

        Assert.True(cut.LossMask[^1]); // ends on the last trained token (the assistant's end token)
        Assert.Equal(full.TokenIds[..cut.Length], cut.TokenIds);
        Assert.Equal(full.ScoredTokenCount, cut.ScoredTokenCount);
        Assert.DoesNotContain("Thank you", Encoder.Template.Tokenizer.Decode(cut.TokenIds));
    }

    [Fact]
    public void Sft_on_all_tokens_scores_every_token_after_the_first()
    {
        string path = TrainingSamples.WriteSft(_dir, 2);
        var (assistant, assistantReport) = TrainingDatasets.ReadSft(path, null, Encoder, 4096, OverlengthPolicy.Error);
        var (all, allReport) = TrainingDatasets.ReadSft(path, null, Encoder, 4096, OverlengthPolicy.Error, tokens: SftTokens.All);

        TrainingSequence s = all[0].Sequence;
        Assert.Equal(s.Length - 1, s.ScoredTokenCount);
        Assert.False(s.LossMask[0]);
        Assert.Contains("Observation", Encoder.Template.Tokenizer.Decode(s.TokenIds.Where((_, i) => s.LossMask[i]).ToArray()));
        Assert.True(allReport.TrainedTokens > 2 * assistantReport.TrainedTokens);
        // The same text (all of it: nothing is cut when every token is scored); only the mask differs.
        Assert.Equal(Encoder.Encode(TrainingSamples.Episode(0).Turns).TokenIds, s.TokenIds);
        Assert.Equal(assistant[0].Sequence.TokenIds, s.TokenIds[..assistant[0].Sequence.Length]);
    }

    [Fact]
    public void Sft_successes_only_drops_failed_trajectories_and_counts_them()
    {
        string path = TrainingSamples.WriteSft(_dir, 4, make: i => TrainingSamples.Episode(i, reward: i % 2 == 0 ? 1.0 : 0.4));
        var (examples, report) = TrainingDatasets.ReadSft(path, null, Encoder, 4096, OverlengthPolicy.Error, successesOnly: true);
        Assert.Equal(2, examples.Count);
        Assert.Equal(2, report.SkippedFiltered);
    }

    [Fact]
    public void A_dataset_without_assistant_tokens_stops_with_a_message_naming_the_file()
    {
        string path = TrainingSamples.WriteSft(_dir, 2, make: i => TrainingSamples.Episode(i) with
        {
            Turns = TrainingSamples.Episode(i).Turns.Select(t => t.Role == ChatRole.Assistant ? t with { Loss = false } : t).ToList(),
        });
        var e = Assert.Throws<DataFormatException>(() => TrainingDatasets.ReadSft(path, null, Encoder, 4096, OverlengthPolicy.Error));
        Assert.Equal(path, e.FilePath);
        Assert.Contains("no record has an assistant token", e.Message);
        Assert.Contains("2 without trained assistant tokens", e.Message);
    }

    [Fact]
    public void A_sequence_longer_than_the_context_stops_naming_the_record_or_is_skipped_when_asked()
    {
        string path = TrainingSamples.WriteSft(_dir, 3);
        int length = TrainingDatasets.ReadSft(path, null, Encoder, 4096, OverlengthPolicy.Error).Examples[1].Sequence.Length;
        var e = Assert.Throws<DataFormatException>(() => TrainingDatasets.ReadSft(path, null, Encoder, length - 1, OverlengthPolicy.Error));
        Assert.StartsWith("record ", e.Position);
        Assert.Contains($"context is {length - 1}", e.Message);
        Assert.Contains("--skip-long", e.Message);

        var (kept, report) = TrainingDatasets.ReadSft(path, null, Encoder, 4096, OverlengthPolicy.Skip);
        Assert.Equal(3, kept.Count);
        var shortest = kept.Min(k => k.Sequence.Length);
        var (some, report2) = TrainingDatasets.ReadSft(path, null, Encoder, shortest, OverlengthPolicy.Skip);
        Assert.Equal(3 - report2.SkippedTooLong, some.Count);
        Assert.True(report2.SkippedTooLong >= 1);
        Assert.Equal(0, report.SkippedTooLong);
    }

    [Fact]
    public void Dpo_masks_the_prompt_including_its_assistant_turn_and_scores_every_continuation_turn()
    {
        var (examples, _) = TrainingDatasets.ReadDpo(TrainingSamples.WritePairs(_dir, 2), null, Encoder, 4096, OverlengthPolicy.Error);
        var tokenizer = Encoder.Template.Tokenizer;
        TrainingSequence chosen = examples[0].Chosen;
        string trained = tokenizer.Decode(chosen.TokenIds.Where((_, i) => chosen.LossMask[i]).ToArray());
        Assert.DoesNotContain("OK", trained);
        Assert.Contains("Action: search[red mug]", trained);
        Assert.Contains("Action: click[red mug]", trained);
        Assert.DoesNotContain("Observation", trained);
        // Both sides share the prompt tokens.
        int promptLength = Encoder.Encode(TrainingSamples.Pair(0).Prompt).Length;
        Assert.Equal(chosen.TokenIds[..promptLength], examples[0].Rejected.TokenIds[..promptLength]);
    }

    [Fact]
    public void Dpo_on_a_trajectory_file_is_refused()
    {
        string path = TrainingSamples.WriteSft(_dir, 2);
        var e = Assert.Throws<DataFormatException>(() => TrainingDatasets.ReadDpo(path, null, Encoder, 4096, OverlengthPolicy.Error));
        Assert.Contains("needs preference pairs", e.Message);
    }

    [Fact]
    public void Packing_resets_positions_and_targets_stay_inside_each_sequence()
    {
        var a = new TrainingSequence([1, 5, 6, 2], [false, true, true, true]);
        var b = new TrainingSequence([1, 7, 2], [false, false, true]);
        PackedBatch batch = PackedBatch.Pack([a, b], vocabSize: 10);
        Assert.Equal([1, 5, 6, 2, 1, 7, 2], batch.TokenIds);
        Assert.Equal([0, 1, 2, 3, 0, 1, 2], batch.Positions);
        Assert.Equal([0, 4, 7], batch.SequenceStarts);
        Assert.Equal([5, 6, 2, -1, 7, 2, -1], batch.TargetIds);
        Assert.Equal([true, true, true, false, false, true, false], batch.LossMask);
        Assert.Equal(4, batch.ScoredTokenCount);
        Assert.Equal(1, batch.SequenceOf(4));
        Assert.Equal(0, batch.SequenceOf(3));
        Assert.Throws<ArgumentException>(() => PackedBatch.Pack([new TrainingSequence([1, 12], [false, true])], vocabSize: 10));
    }
}
