using System.Diagnostics;
using System.Text;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.Tokenization;

namespace OnnxCoEvo.Onnx.Generation;

/// <summary>
/// Generates the next turn for a batch of episodes over an <see cref="IDecoderModel"/>: one batched prefill of every
/// episode's new prompt tokens, then batched one-token decode steps until each episode stops (stop token, stop string,
/// token budget, full context). Each episode owns a decoder slot whose KV cache survives between turns: a new turn
/// keeps the longest common prefix of the cached tokens and the new prompt and prefills only the rest (the whole
/// prompt when nothing matches or <see cref="ReuseKvCache"/> is off). A common prefix rather than a strict prefix test
/// because the re-rendered assistant turn need not tokenise as it was sampled, and a stop string cuts sampled text.
/// A request's <see cref="IDecodeConstraint"/> masks each row of logits before sampling and ends the turn when it is complete.
/// Not thread-safe.
/// </summary>
public sealed class Generator
{
    private readonly IDecoderModel _model;
    private readonly BpeTokenizer _tokenizer;
    private readonly Dictionary<long, EpisodeState> _episodes = [];
    private readonly Stack<int> _freeSlots = new();
    private int _nextSlot;
    private int _calls;
    private long _promptTokens, _reusedTokens, _prefillTokens, _generatedTokens;
    private TimeSpan _prefillTime, _decodeTime;
    private DecodeConstraintMask? _constraintMask;

    public Generator(IDecoderModel model, BpeTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        _model = model;
        _tokenizer = tokenizer;
    }

    /// <summary>False: every turn re-encodes its whole prompt (the baseline the KV reuse is measured against).</summary>
    public bool ReuseKvCache { get; set; } = true;

    /// <summary>Episodes holding a slot.</summary>
    public int LiveEpisodes => _episodes.Count;

    public GeneratorStatistics Statistics =>
        new(_calls, _promptTokens, _reusedTokens, _prefillTokens, _prefillTime, _generatedTokens, _decodeTime);

    public void ResetStatistics()
    {
        _calls = 0;
        _promptTokens = _reusedTokens = _prefillTokens = _generatedTokens = 0;
        _prefillTime = _decodeTime = TimeSpan.Zero;
    }

    /// <summary>Frees the episode's slot and KV cache. Unknown ids are ignored.</summary>
    public void EndEpisode(long episodeId)
    {
        if (!_episodes.Remove(episodeId, out EpisodeState? state))
            return;
        _model.Release(state.Slot);
        _freeSlots.Push(state.Slot);
    }

    /// <summary>One turn per request, in request order; episode ids must be distinct within a call.</summary>
    public IReadOnlyList<GenerationResult> Generate(IReadOnlyList<GenerationRequest> requests, GenerationSettings settings)
    {
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        if (requests.Select(r => r.EpisodeId).Distinct().Count() != requests.Count)
            throw new ArgumentException("an episode appears twice in one generation call", nameof(requests));
        _calls++;
        var turns = new TurnState[requests.Count];
        var results = new GenerationResult?[requests.Count];
        int vocab = _model.VocabSize;
        int maxStop = settings.StopStrings.Count == 0 ? 0 : settings.StopStrings.Max(s => s.Length);

        // Prefill: every episode's prompt beyond the reused prefix, in one call.
        var clock = Stopwatch.StartNew();
        var steps = new List<DecoderStep>(requests.Count);
        var stepTurns = new List<int>(requests.Count);
        for (int i = 0; i < requests.Count; i++)
        {
            GenerationRequest request = requests[i];
            IReadOnlyList<int> prompt = request.PromptTokens ?? throw new ArgumentException($"request {i} has no prompt", nameof(requests));
            if (prompt.Count == 0)
                throw new ArgumentException($"episode {request.EpisodeId}: the prompt is empty", nameof(requests));
            EpisodeState episode = Episode(request);
            _promptTokens += prompt.Count;
            if (prompt.Count >= _model.MaxSequenceLength)
            {
                Truncate(episode, 0);
                results[i] = new GenerationResult("", [], GenerationStopReason.ContextFull, prompt.Count, 0);
                continue;
            }
            int keep = ReuseKvCache ? CommonPrefix(episode.Tokens, prompt) : 0;
            if (keep == prompt.Count) keep--; // the last prompt token is fed again: its logits start the turn
            Truncate(episode, keep);
            int[] suffix = new int[prompt.Count - keep];
            for (int t = 0; t < suffix.Length; t++) suffix[t] = prompt[keep + t];
            episode.Tokens.AddRange(suffix);
            _reusedTokens += keep;
            _prefillTokens += suffix.Length;
            turns[i] = new TurnState(episode, prompt.Count, keep, _tokenizer.CreateStreamingDecoder(), request.Constraint);
            steps.Add(new DecoderStep(episode.Slot, suffix));
            stepTurns.Add(i);
        }
        var logits = new float[(long)Math.Max(1, steps.Count) * vocab];
        if (steps.Count > 0)
            _model.Forward(steps, logits);
        _prefillTime += clock.Elapsed;

        // Decode: sample from the last logits, check the stops, feed the survivors one token each.
        clock.Restart();
        while (steps.Count > 0)
        {
            var nextSteps = new List<DecoderStep>(steps.Count);
            var nextTurns = new List<int>(steps.Count);
            for (int s = 0; s < steps.Count; s++)
            {
                int i = stepTurns[s];
                TurnState turn = turns[i];
                EpisodeState episode = turn.Episode;
                Span<float> row = logits.AsSpan(s * vocab, vocab);
                if (turn.Constraint is { } constraint && Constrain(turn, constraint, row, settings))
                {
                    turn.Text.Append(turn.Decoder.Flush());
                    results[i] = new GenerationResult(turn.Text.ToString(), [.. turn.Generated], GenerationStopReason.ConstraintComplete,
                        turn.PromptTokens, turn.ReusedTokens);
                    continue;
                }
                int token = TokenSampler.Sample(row, settings.Sampling, ref episode.Random);
                turn.Generated.Add(token);
                _generatedTokens++;
                GenerationStopReason? stop = null;
                if (settings.StopTokenIds.Contains(token))
                {
                    stop = GenerationStopReason.StopToken;
                }
                else
                {
                    int before = turn.Text.Length;
                    turn.Text.Append(turn.Decoder.Append(token));
                    if (maxStop > 0 && FindStop(turn.Text, Math.Max(0, before - maxStop + 1), settings.StopStrings) is int cut)
                    {
                        turn.Text.Length = cut;
                        stop = GenerationStopReason.StopString;
                    }
                    else if (turn.Generated.Count >= settings.MaxNewTokens)
                        stop = GenerationStopReason.MaxNewTokens;
                    else if (episode.Tokens.Count + 1 > _model.MaxSequenceLength)
                        stop = GenerationStopReason.ContextFull;
                }
                if (stop is { } reason)
                {
                    if (reason != GenerationStopReason.StopString)
                        turn.Text.Append(turn.Decoder.Flush());
                    results[i] = new GenerationResult(turn.Text.ToString(), [.. turn.Generated], reason, turn.PromptTokens, turn.ReusedTokens);
                    continue;
                }
                episode.Tokens.Add(token);
                nextSteps.Add(new DecoderStep(episode.Slot, new[] { token }));
                nextTurns.Add(i);
            }
            steps = nextSteps;
            stepTurns = nextTurns;
            if (steps.Count > 0)
                _model.Forward(steps, logits);
        }
        _decodeTime += clock.Elapsed;
        return results.Select(r => r!).ToArray();
    }

    /// <summary>
    /// Masks <paramref name="row"/> to what the turn's constraint allows next; true when the constraint is complete and
    /// the turn ends here. A constraint that would allow no token at all is dropped for the rest of the turn (the model
    /// went somewhere the grammar has no answer for; free text is better than a forced wrong one).
    /// </summary>
    private bool Constrain(TurnState turn, IDecodeConstraint constraint, Span<float> row, GenerationSettings settings)
    {
        IReadOnlyList<string>? continuations = constraint.Continuations(turn.Text.ToString());
        if (continuations is null)
            return false;
        if (continuations.Count > 0 && continuations.All(c => c.Length == 0))
            return true;
        _constraintMask ??= new DecodeConstraintMask(_tokenizer, _model.VocabSize);
        if (!_constraintMask.Apply(row, continuations, constraint.Comparison, settings.StopTokenIds))
            turn.Constraint = null;
        return false;
    }

    private EpisodeState Episode(GenerationRequest request)
    {
        if (_episodes.TryGetValue(request.EpisodeId, out EpisodeState? episode))
        {
            // The model may have dropped cached tokens (e.g. an adapter switch empties every slot).
            int cached = _model.CachedLength(episode.Slot);
            if (cached < episode.Tokens.Count)
                episode.Tokens.RemoveRange(cached, episode.Tokens.Count - cached);
            return episode;
        }
        int slot = _freeSlots.Count > 0 ? _freeSlots.Pop() : _nextSlot++;
        episode = new EpisodeState(slot, new Xoshiro256StarStar(request.Seed));
        _episodes[request.EpisodeId] = episode;
        return episode;
    }

    private void Truncate(EpisodeState episode, int length)
    {
        _model.Truncate(episode.Slot, length);
        episode.Tokens.RemoveRange(length, episode.Tokens.Count - length);
    }

    /// <summary>Length of the longest common prefix of the cached tokens and the prompt.</summary>
    public static int CommonPrefix(IReadOnlyList<int> cached, IReadOnlyList<int> prompt)
    {
        int n = Math.Min(cached.Count, prompt.Count), i = 0;
        while (i < n && cached[i] == prompt[i]) i++;
        return i;
    }

    /// <summary>The earliest index at or after <paramref name="from"/> where a stop string starts, or null.</summary>
    private static int? FindStop(StringBuilder text, int from, IReadOnlyList<string> stops)
    {
        string tail = text.ToString(from, text.Length - from);
        int best = -1;
        foreach (string stop in stops)
        {
            int at = tail.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (best < 0 || at < best)) best = at;
        }
        return best < 0 ? null : from + best;
    }

    private sealed class EpisodeState(int slot, Xoshiro256StarStar random)
    {
        public int Slot { get; } = slot;

        /// <summary>The tokens whose KV the slot holds, in order.</summary>
        public List<int> Tokens { get; } = [];

        public Xoshiro256StarStar Random = random;
    }

    private sealed class TurnState(EpisodeState episode, int promptTokens, int reusedTokens, StreamingDecoder decoder, IDecodeConstraint? constraint)
    {
        public IDecodeConstraint? Constraint { get; set; } = constraint;
        public EpisodeState Episode { get; } = episode;
        public int PromptTokens { get; } = promptTokens;
        public int ReusedTokens { get; } = reusedTokens;
        public StreamingDecoder Decoder { get; } = decoder;
        public StringBuilder Text { get; } = new();
        public List<int> Generated { get; } = [];
    }
}
