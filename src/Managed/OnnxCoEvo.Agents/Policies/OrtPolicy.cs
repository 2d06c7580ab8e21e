using OnnxCoEvo.Agents.Protocol;
using OnnxCoEvo.Core.Chat;
using OnnxCoEvo.Core.Trajectories;
using OnnxCoEvo.Core.Models;
using OnnxCoEvo.Core.Tokenization;
using OnnxCoEvo.Onnx.Generation;
using OnnxCoEvo.Onnx.Runtime;

namespace OnnxCoEvo.Agents.Policies;

/// <summary>How a model policy generates: adapter, sampling, budget, prompt and cache choices.</summary>
public sealed record ModelPolicyOptions
{
    /// <summary>A PEFT LoRA folder or an .onnx_adapter file; null runs the base model.</summary>
    public string? Adapter { get; init; }

    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;

    public int MaxNewTokens { get; init; } = 128;

    /// <summary>Insert the protocol's in-context example after "OK" (ETO's prompt); off for models trained without it.</summary>
    public bool IncludeExample { get; init; } = true;

    /// <summary>Keep each episode's KV cache across turns; false re-encodes the whole conversation every turn.</summary>
    public bool ReuseKvCache { get; init; } = true;

    /// <summary>Seeds sampling: each episode draws from a stream derived from (seed, task id, sample).</summary>
    public ulong Seed { get; init; }

    /// <summary>
    /// Constrained decoding of the action (<see cref="ReActActionConstraint"/>): once the model writes "Action:", only
    /// actions the environment accepts in the current state can follow. Needs a protocol with an action grammar.
    /// </summary>
    public bool ConstrainActions { get; init; }

    /// <summary>Where ONNX Runtime runs the decoder: CPU, or CUDA/WebGPU when the loaded library has them (otherwise a clear error).</summary>
    public OrtExecutionProvider Provider { get; init; } = OrtExecutionProvider.Cpu;
}

/// <summary>
/// A language-model policy: renders each episode's conversation with the model's chat template
/// (<see cref="ReActProtocol.PolicyView"/>, the in-context example included by default) and generates the assistant
/// turn with the batched <see cref="Generator"/>, stopping at the template's end of turn, EOS or a
/// "\nObservation" the model starts to invent; with <see cref="ModelPolicyOptions.ConstrainActions"/> the action is
/// decoded inside the environment's current action space. Episodes keep their KV cache between turns; <see cref="EndEpisode"/>
/// frees it. Built over ONNX Runtime by <see cref="Open"/>; any <see cref="IDecoderModel"/> works (tests use the
/// CPU reference). Calls are serialised: one batch at a time.
/// </summary>
public sealed class OrtPolicy : IPolicy
{
    public const string SpecPrefix = "onnx:";

    /// <summary>Models trained on ReAct transcripts go on to write the observation themselves; cut there.</summary>
    public const string ObservationStop = "\nObservation";

    private readonly IDecoderModel _model;
    private readonly IChatTemplate _template;
    private readonly ReActProtocol _protocol;
    private readonly ModelPolicyOptions _options;
    private readonly GenerationSettings _settings;
    private readonly IDisposable? _adapter;
    private readonly Lock _gate = new();

    public OrtPolicy(string name, IDecoderModel model, IChatTemplate template, ReActProtocol protocol, ModelPolicyOptions? options = null,
        IEnumerable<int>? extraStopTokenIds = null, IDisposable? ownedAdapter = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(protocol);
        _options = options ?? new ModelPolicyOptions();
        Name = name;
        _model = model;
        _template = template;
        _protocol = protocol;
        _adapter = ownedAdapter;
        _settings = new GenerationSettings
        {
            Sampling = _options.Sampling,
            MaxNewTokens = _options.MaxNewTokens,
            StopStrings = [ObservationStop],
            StopTokenIds = template.StopTokenIds.Concat(extraStopTokenIds ?? []).Distinct().ToArray(),
        };
        _settings.Validate();
        if (_options.ConstrainActions && protocol.ChoicesOf is null)
            throw new ArgumentException($"constrained actions: the {protocol.Environment} protocol has no action grammar", nameof(options));
        Generator = new Generator(model, template.Tokenizer) { ReuseKvCache = _options.ReuseKvCache };
    }

    public string Name { get; }

    public bool NeedsActionSpace => _options.ConstrainActions;

    /// <summary>The generator behind the policy (its <see cref="Generator.Statistics"/> time prefill and decode).</summary>
    public Generator Generator { get; }

    /// <summary>
    /// The policy of "onnx:DIR": DIR is a model directory with onnx/ inside or the onnx folder itself (genai_config.json,
    /// model.onnx, tokenizer files; the tokenizer and config.json are also looked for one level up).
    /// </summary>
    public static OrtPolicy Open(string path, ReActProtocol protocol, ModelPolicyOptions? options = null)
    {
        options ??= new ModelPolicyOptions();
        string onnxDirectory = OrtDecoderModel.ResolveDirectory(path);
        string? parent = Path.GetDirectoryName(onnxDirectory);
        BpeTokenizer tokenizer = BpeTokenizer.Load(FindFile(onnxDirectory, parent, BpeTokenizer.FileName));
        IChatTemplate template = ChatTemplates.Detect(tokenizer);
        OrtDecoderModel model = OrtDecoderModel.Open(onnxDirectory, new OrtSessionSettings { Provider = options.Provider });
        DecoderLoraAdapter? adapter = null;
        try
        {
            if (options.Adapter is { } adapterPath)
            {
                adapter = DecoderLoraAdapter.Load(adapterPath, () => ModelConfig.Load(FindFile(onnxDirectory, parent, ModelConfig.FileName)));
                model.SetAdapter(adapter);
            }
            string name = SpecPrefix + path + (options.Adapter is null ? "" : "+" + options.Adapter);
            return new OrtPolicy(name, model, template, protocol, options, model.Config.EosTokenIds, adapter);
        }
        catch
        {
            adapter?.Dispose();
            model.Dispose();
            throw;
        }
    }

    private static string FindFile(string directory, string? parent, string fileName)
    {
        string here = Path.Combine(directory, fileName);
        if (File.Exists(here) || parent is null) return here;
        string above = Path.Combine(parent, fileName);
        return File.Exists(above) ? above : throw new FileNotFoundException($"no {fileName} in '{directory}' or '{parent}'", here);
    }

    public ValueTask<IReadOnlyList<PolicyTurn>> ActAsync(IReadOnlyList<PolicyRequest> batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        cancellationToken.ThrowIfCancellationRequested();
        var requests = new GenerationRequest[batch.Count];
        for (int i = 0; i < batch.Count; i++)
        {
            PolicyRequest request = batch[i];
            IReadOnlyList<ChatMessage> view = _protocol.PolicyView(request.Conversation, _options.IncludeExample);
            int[] prompt = _template.Render(view, addGenerationPrompt: true).TokenIds;
            ulong seed = DeterministicRandom.DeriveSeed(_options.Seed, request.Task.Id, (ulong)request.Sample);
            IDecodeConstraint? constraint = null;
            if (_options.ConstrainActions && request.Actions is { } actions)
            {
                ActionChoices choices = _protocol.ChoicesOf!(actions, request.Conversation[^1].Content);
                if (!choices.IsEmpty)
                    constraint = new ReActActionConstraint(choices);
            }
            requests[i] = new GenerationRequest(request.EpisodeId, prompt, seed, constraint);
        }
        IReadOnlyList<GenerationResult> results;
        lock (_gate)
            results = Generator.Generate(requests, _settings);
        IReadOnlyList<PolicyTurn> turns = results.Select(r => new PolicyTurn(r.Text.Trim(), r.PromptTokens, r.TokenIds.Length,
            r.StopReason == GenerationStopReason.ContextFull ? TrajectoryEndReason.ContextLimit : null)).ToArray();
        return ValueTask.FromResult(turns);
    }

    public void EndEpisode(long episodeId)
    {
        lock (_gate)
            Generator.EndEpisode(episodeId);
    }

    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _model.Dispose();
            _adapter?.Dispose();
        }
        return ValueTask.CompletedTask;
    }
}
