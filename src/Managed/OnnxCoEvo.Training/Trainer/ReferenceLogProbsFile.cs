using System.Text.Json;
using OnnxCoEvo.Core;
using OnnxCoEvo.Core.Json;

namespace OnnxCoEvo.Training.Trainer;

/// <summary>
/// reference_logps.json: the DPO reference policy's summed log-probs per pair, computed once when a run starts so that a
/// resumed run uses the very same numbers. <c>{"reference":"start","data":"&lt;fingerprint&gt;","pairs":[[chosen, rejected], ...]}</c>
/// (doubles written in round-trip form).
/// </summary>
public sealed record ReferenceLogProbsFile(string Reference, string DataFingerprint, (double Chosen, double Rejected)[] Values)
{
    public static void Write(string path, ReferenceLogProbsFile file)
    {
        AtomicFile.Write(path, stream =>
        {
            using var json = new Utf8JsonWriter(stream);
            json.WriteStartObject();
            json.WriteString("reference", file.Reference);
            json.WriteString("data", file.DataFingerprint);
            json.WriteStartArray("pairs");
            foreach (var (c, r) in file.Values)
            {
                json.WriteStartArray();
                json.WriteNumberValue(c);
                json.WriteNumberValue(r);
                json.WriteEndArray();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        });
    }

    public static ReferenceLogProbsFile Read(string path)
    {
        var source = new JsonSource(path) { Style = JsonStyle.Config };
        using JsonDocument document = source.Parse(File.ReadAllBytes(path), JsonSyntaxErrorFormat.FileByte);
        LocatedJson root = source.Root(document).ExpectKind(JsonValueKind.Object);
        var values = new List<(double, double)>();
        foreach (LocatedJson pair in root.Required("pairs").Items())
        {
            var sides = pair.Items().ToList();
            if (sides.Count != 2)
                throw pair.Error("must be [chosen, rejected]");
            values.Add((sides[0].GetDouble(), sides[1].GetDouble()));
        }
        return new ReferenceLogProbsFile(root.RequiredString("reference"), root.RequiredString("data"), [.. values]);
    }
}
