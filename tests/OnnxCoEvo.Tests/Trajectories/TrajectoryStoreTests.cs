using System.Text;
using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Trajectories;

namespace OnnxCoEvo.Tests.Trajectories;

public sealed class TrajectoryStoreTests
{
    [Fact]
    public void Appended_records_read_back_in_order_with_line_numbers()
    {
        using var dir = new TempDirectory();
        string path = dir.File("runs/iter-00/trajectories.jsonl"); // directory is created on open
        using (TrajectoryStore store = TrajectoryStore.OpenForAppend(path))
        {
            store.Append(Samples.WebShopTrajectory("webshop_1"));
            store.AppendRange([Samples.WebShopTrajectory("webshop_2"), Samples.WebShopTrajectory("webshop_3", reward: 1.0)]);
            Assert.Null(store.RecoveredTornTail);
        }
        byte[] bytes = File.ReadAllBytes(path);
        Assert.Equal((byte)'\n', bytes[^1]);
        Assert.Equal(3, bytes.Count(b => b == (byte)'\n'));

        var records = TrajectoryStore.Read(path).ToList();
        Assert.Equal([1, 2, 3], records.Select(r => r.LineNumber));
        Assert.Equal(["webshop_1", "webshop_2", "webshop_3"], records.Select(r => r.Value.TaskId));
        Assert.True(records[2].Value.Success);
        Samples.AssertSame(Samples.WebShopTrajectory("webshop_1"), records[0].Value);
        Assert.Equal(new HashSet<string> { "webshop_1", "webshop_2", "webshop_3" }, TrajectoryStore.ReadTaskIds(path));
    }

    [Fact]
    public void Appends_from_several_threads_keep_every_line_intact()
    {
        using var dir = new TempDirectory();
        string path = dir.File("trajectories.jsonl");
        const int Threads = 8, PerThread = 25;
        using (TrajectoryStore store = TrajectoryStore.OpenForAppend(path))
        {
            Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, worker =>
            {
                for (int i = 0; i < PerThread; i++)
                {
                    // Long turns make torn or interleaved writes visible as broken JSON.
                    Trajectory t = Samples.WebShopTrajectory($"webshop_{worker * 1000 + i}") with
                    {
                        Turns = [.. Samples.WebShopTrajectory().Turns, Core.Chat.ChatMessage.User(new string((char)('a' + worker), 5000 + i))],
                    };
                    if (i % 5 == 4) store.AppendRange([t, t with { TaskId = $"webshop_{worker * 1000 + i + 500}" }]);
                    else store.Append(t);
                }
            });
        }
        JsonlReadResult<Trajectory> result = TrajectoryStore.ReadAll(path, strict: true);
        Assert.Null(result.TornTail);
        Assert.Equal(Threads * (PerThread + PerThread / 5), result.Records.Count);
        Assert.Equal(result.Records.Count, result.Records.Select(r => r.TaskId).Distinct().Count());
        Assert.All(result.Records, r => Assert.Equal(r.Turns[^1].Content[0], r.Turns[^1].Content[^1]));
    }

    [Fact]
    public void Torn_last_line_is_reported_and_earlier_records_are_kept()
    {
        using var dir = new TempDirectory();
        string path = WriteWithTornTail(dir, out string torn);

        JsonlReadResult<Trajectory> result = TrajectoryStore.ReadAll(path);
        Assert.Equal(["webshop_1", "webshop_2"], result.Records.Select(r => r.TaskId));
        Assert.NotNull(result.TornTail);
        Assert.Equal(3, result.TornTail.LineNumber);
        Assert.Equal(Encoding.UTF8.GetByteCount(torn), result.TornTail.Length);
        Assert.Equal(new FileInfo(path).Length - result.TornTail.Length, result.TornTail.ByteOffset);

        JsonlTornTail? reported = null;
        var streamed = TrajectoryStore.Read(path, new JsonlReadOptions { OnTornTail = t => reported = t }).ToList();
        Assert.Equal(2, streamed.Count);
        Assert.Equal(3, reported?.LineNumber);

        var e = Assert.Throws<DataFormatException>(() => TrajectoryStore.ReadAll(path, strict: true));
        Assert.Equal("line 3", e.Position);
        Assert.Equal(path, e.FilePath);

        // The torn record's task did not finish: a resumed farm must run it again.
        Assert.Equal(new HashSet<string> { "webshop_1", "webshop_2" }, TrajectoryStore.ReadTaskIds(path));
    }

    [Fact]
    public void Reopening_after_a_torn_tail_moves_it_aside_and_the_next_record_is_intact()
    {
        using var dir = new TempDirectory();
        string path = WriteWithTornTail(dir, out string torn);
        long sizeBefore = new FileInfo(path).Length;

        using (TrajectoryStore store = TrajectoryStore.OpenForAppend(path))
        {
            JsonlTornTail recovered = Assert.IsType<JsonlTornTail>(store.RecoveredTornTail);
            Assert.Equal(3, recovered.LineNumber);
            Assert.NotNull(recovered.MovedTo);
            Assert.StartsWith(path + ".torn-", recovered.MovedTo);
            Assert.Equal(torn, File.ReadAllText(recovered.MovedTo)); // nothing silently lost
            Assert.Equal(sizeBefore - recovered.Length, new FileInfo(path).Length);
            store.Append(Samples.WebShopTrajectory("webshop_3"));
        }

        JsonlReadResult<Trajectory> result = TrajectoryStore.ReadAll(path, strict: true);
        Assert.Null(result.TornTail);
        Assert.Equal(["webshop_1", "webshop_2", "webshop_3"], result.Records.Select(r => r.TaskId));
        Samples.AssertSame(Samples.WebShopTrajectory("webshop_3"), result.Records[2]);
    }

    [Fact]
    public void Complete_last_line_without_newline_is_a_record_and_gets_its_newline_on_reopen()
    {
        using var dir = new TempDirectory();
        string line1 = TrajectoryJson.Serialize(Samples.WebShopTrajectory("webshop_1"));
        string line2 = TrajectoryJson.Serialize(Samples.WebShopTrajectory("webshop_2"));
        string path = dir.Write("t.jsonl", line1 + "\n" + line2);

        JsonlReadResult<Trajectory> read = TrajectoryStore.ReadAll(path, strict: true);
        Assert.Equal(2, read.Records.Count);
        Assert.Null(read.TornTail);

        using (TrajectoryStore store = TrajectoryStore.OpenForAppend(path))
        {
            Assert.Null(store.RecoveredTornTail);
            store.Append(Samples.WebShopTrajectory("webshop_3"));
        }
        Assert.Equal(["webshop_1", "webshop_2", "webshop_3"], TrajectoryStore.ReadAll(path, strict: true).Records.Select(r => r.TaskId));
        Assert.Empty(Directory.GetFiles(dir.Path, "*.torn-*"));
    }

    [Fact]
    public void Malformed_middle_line_names_file_and_line()
    {
        using var dir = new TempDirectory();
        string good = TrajectoryJson.Serialize(Samples.WebShopTrajectory());
        string path = dir.Write("t.jsonl", $"{good}\n\n{good}\n{{\"task_id\": \"x\", oops}}\n{good}\n");

        var records = new List<int>();
        var e = Assert.Throws<DataFormatException>(() =>
        {
            foreach (var r in TrajectoryStore.Read(path)) records.Add(r.LineNumber);
        });
        Assert.Equal([1, 3], records); // streaming: the good lines before the fault were delivered
        Assert.Equal(path, e.FilePath);
        Assert.Equal("line 4", e.Position);
        Assert.Contains("not valid JSON", e.Problem);
        Assert.Throws<DataFormatException>(() => TrajectoryStore.ReadTaskIds(path));
    }

    [Fact]
    public void Schema_problem_in_a_line_names_line_and_json_path()
    {
        using var dir = new TempDirectory();
        string good = TrajectoryJson.Serialize(Samples.WebShopTrajectory());
        string bad = good.Replace("\"role\":\"assistant\"", "\"role\":\"bot\"");
        string path = dir.Write("t.jsonl", string.Join("\n", good, good, good, good, good, good, bad, good) + "\n");

        var e = Assert.Throws<DataFormatException>(() => TrajectoryStore.ReadAll(path));
        Assert.Equal("line 7 $.turns[2].role", e.Position);
        Assert.Contains($"{path}: line 7 $.turns[2].role: unknown role \"bot\"", e.Message);
    }

    [Fact]
    public void Crlf_bom_and_blank_lines_are_tolerated()
    {
        using var dir = new TempDirectory();
        string good = TrajectoryJson.Serialize(Samples.WebShopTrajectory());
        string path = dir.File("t.jsonl");
        File.WriteAllText(path, $"{good}\r\n\r\n{good}\r\n", new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
        Assert.Equal([1, 3], TrajectoryStore.Read(path).Select(r => r.LineNumber));
        Assert.Single(TrajectoryStore.ReadTaskIds(path));
    }

    [Fact]
    public void A_file_has_one_appender_per_process_and_a_disposed_store_refuses_appends()
    {
        using var dir = new TempDirectory();
        string path = dir.File("t.jsonl");
        TrajectoryStore store = TrajectoryStore.OpenForAppend(path);
        Assert.Throws<InvalidOperationException>(() => TrajectoryStore.OpenForAppend(path));
        Assert.Throws<InvalidOperationException>(() => JsonlAppender<PreferencePair>.Open(path, PreferencePairJson.Codec));
        Assert.Throws<ArgumentException>(() => store.Append(Samples.WebShopTrajectory() with { EndReason = "" }));
        Assert.Equal(0, new FileInfo(path).Length); // the invalid record wrote nothing
        store.Dispose();
        Assert.Throws<ObjectDisposedException>(() => store.Append(Samples.WebShopTrajectory()));
        using TrajectoryStore again = TrajectoryStore.OpenForAppend(path);
    }

    [Fact]
    public void Generic_jsonl_helpers_store_preference_pairs()
    {
        using var dir = new TempDirectory();
        string path = dir.File("pairs.jsonl");
        using (var appender = JsonlAppender<PreferencePair>.Open(path, PreferencePairJson.Codec))
            appender.AppendRange([Samples.Pair("a"), Samples.Pair("b")]);
        JsonlReadResult<PreferencePair> result = JsonlReader.ReadAll(path, PreferencePairJson.Codec, strict: true);
        Assert.Equal(["a", "b"], result.Records.Select(p => p.Id));
        Assert.Equal(TrajectoryFormat.CanonicalPairs, TrajectoryFormats.Detect(path));
    }

    /// <summary>Two complete records, then the first half of a third without its newline: a crash mid-append.</summary>
    private static string WriteWithTornTail(TempDirectory dir, out string torn)
    {
        string path = dir.File("trajectories.jsonl");
        using (TrajectoryStore store = TrajectoryStore.OpenForAppend(path))
            store.AppendRange([Samples.WebShopTrajectory("webshop_1"), Samples.WebShopTrajectory("webshop_2")]);
        string third = TrajectoryJson.Serialize(Samples.WebShopTrajectory("webshop_3"));
        torn = third[..(third.Length / 2)];
        File.AppendAllText(path, torn, new UTF8Encoding(false));
        return path;
    }
}
