using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Training.Data;

/// <summary>One SFT sample: where it came from and its tokens.</summary>
public sealed record SftExample(string Id, TrainingSequence Sequence);

/// <summary>One DPO sample: its two sequences and, once computed, the reference policy's summed log-probs.</summary>
public sealed record DpoExample(string Id, TrainingSequence Chosen, TrainingSequence Rejected);

/// <summary>What reading a dataset kept and dropped, so nothing is masked silently (FastChat's "tokenization mismatch" trap).</summary>
public sealed record DatasetReport(string Path, string Format, int Records, int Kept, int SkippedNoTrainedTokens, int SkippedTooLong,
    int SkippedFiltered, long TrainedTokens, long TotalTokens, int LongestSequence);

/// <summary>What to do with a sample longer than the model's context.</summary>
public enum OverlengthPolicy
{
    /// <summary>Stop with an error naming the record (the default: silent truncation hides broken data).</summary>
    Error,

    /// <summary>Drop the sample and count it in the report.</summary>
    Skip,
}

/// <summary>
/// Reads SFT and DPO datasets from any format <see cref="DatasetFiles"/> knows and turns them into token sequences,
/// checking each against the model's context. A record with no trained token is dropped and counted; a dataset left
/// with none is an error.
/// </summary>
public static class TrainingDatasets
{
    public static (IReadOnlyList<SftExample> Examples, DatasetReport Report) ReadSft(string path, string? formatName,
        ConversationEncoder encoder, int maxLength, OverlengthPolicy overlength, bool successesOnly = false, SftTokens tokens = SftTokens.Assistant)
    {
        TrajectoryFormat format = DatasetFiles.ResolveFormat(path, formatName);
        if (DatasetFiles.HoldsPairs(format))
        {
            // SFT on a pairs file trains on prompt + chosen (the IPR/co-evolving "SFT on chosen" half).
            var pairs = DatasetFiles.ReadPairs(path, format).Pairs;
            return Build(path, format, pairs.Count, pairs.Select(p => (p.Id, (IReadOnlyList<Core.Chat.ChatMessage>)[.. p.Prompt, .. p.Chosen], true)),
                encoder, maxLength, overlength, tokens);
        }

        var trajectories = DatasetFiles.ReadTrajectories(path, format).Trajectories;
        return Build(path, format, trajectories.Count,
            trajectories.Select((t, i) => ($"{t.TaskId}#{i}", t.Turns, !successesOnly || t.MeetsSuccessRule)),
            encoder, maxLength, overlength, tokens);
    }

    private static (IReadOnlyList<SftExample>, DatasetReport) Build(string path, TrajectoryFormat format, int records,
        IEnumerable<(string Id, IReadOnlyList<Core.Chat.ChatMessage> Turns, bool Keep)> items, ConversationEncoder encoder, int maxLength,
        OverlengthPolicy overlength, SftTokens tokens)
    {
        var examples = new List<SftExample>();
        int noTrained = 0, tooLong = 0, filtered = 0, longest = 0, index = 0;
        long trained = 0, total = 0;
        foreach (var (id, turns, keep) in items)
        {
            int recordIndex = index++;
            if (!keep)
            {
                filtered++;
                continue;
            }
            TrainingSequence sequence = encoder.Encode(turns);
            sequence = tokens == SftTokens.All ? sequence.WithEveryTokenScored() : sequence.WithoutUnscoredTail();
            if (sequence.Length > maxLength)
            {
                if (overlength == OverlengthPolicy.Error)
                    throw TooLong(path, recordIndex, id, sequence.Length, maxLength);
                tooLong++;
                continue;
            }
            int scored = sequence.ScoredTokenCount;
            if (scored == 0)
            {
                noTrained++;
                continue;
            }
            longest = Math.Max(longest, sequence.Length);
            trained += scored;
            total += sequence.Length;
            examples.Add(new SftExample(id, sequence));
        }
        var report = new DatasetReport(path, TrajectoryFormats.Name(format), records, examples.Count, noTrained, tooLong, filtered, trained, total, longest);
        if (examples.Count == 0)
            throw new DataFormatException(path, "dataset", NothingToTrainProblem(report));
        return (examples, report);
    }

    public static (IReadOnlyList<DpoExample> Examples, DatasetReport Report) ReadDpo(string path, string? formatName,
        ConversationEncoder encoder, int maxLength, OverlengthPolicy overlength)
    {
        TrajectoryFormat format = DatasetFiles.ResolveFormat(path, formatName);
        if (!DatasetFiles.HoldsPairs(format))
            throw new DataFormatException(path, "dataset",
                $"holds trajectories ({TrajectoryFormats.Name(format)}), but DPO needs preference pairs (pairs-jsonl, eto-dpo or trl-dpo)");
        var dataset = DatasetFiles.ReadPairs(path, format);
        var examples = new List<DpoExample>();
        int noTrained = 0, tooLong = 0, longest = 0;
        long trained = 0, total = 0;
        for (int i = 0; i < dataset.Pairs.Count; i++)
        {
            PreferencePair pair = dataset.Pairs[i];
            PreferenceSequences encoded = encoder.EncodePair(pair);
            int length = Math.Max(encoded.Chosen.Length, encoded.Rejected.Length);
            if (length > maxLength)
            {
                if (overlength == OverlengthPolicy.Error)
                    throw TooLong(path, i, pair.Id, length, maxLength);
                tooLong++;
                continue;
            }
            // A side with no trained token has log-prob sum 0 and no gradient: the pair teaches nothing.
            if (encoded.Chosen.ScoredTokenCount == 0 || encoded.Rejected.ScoredTokenCount == 0)
            {
                noTrained++;
                continue;
            }
            longest = Math.Max(longest, length);
            trained += encoded.Chosen.ScoredTokenCount + encoded.Rejected.ScoredTokenCount;
            total += encoded.Chosen.Length + encoded.Rejected.Length;
            examples.Add(new DpoExample(pair.Id, encoded.Chosen, encoded.Rejected));
        }
        var report = new DatasetReport(path, TrajectoryFormats.Name(format), dataset.Pairs.Count + dataset.Dropped.Count, examples.Count,
            noTrained, tooLong, dataset.Dropped.Count, trained, total, longest);
        if (examples.Count == 0)
            throw new DataFormatException(path, "dataset", NothingToTrainProblem(report));
        return (examples, report);
    }

    private static DataFormatException TooLong(string path, int recordIndex, string id, int length, int maxLength) =>
        new(path, $"record {recordIndex + 1} ('{id}')",
            $"renders to {length} tokens but the model's context is {maxLength} (max_position_embeddings or --max-length); " +
            "shorten the record, raise --max-length within the model's context, or pass --skip-long to drop such records");

    private static string NothingToTrainProblem(DatasetReport r) =>
        r.Records == 0
            ? "holds no records"
            : $"no record has an assistant token to train on ({r.Records} read: {r.SkippedNoTrainedTokens} without trained assistant tokens, " +
              $"{r.SkippedTooLong} too long, {r.SkippedFiltered} filtered out); check the roles and per-turn loss flags";
}
