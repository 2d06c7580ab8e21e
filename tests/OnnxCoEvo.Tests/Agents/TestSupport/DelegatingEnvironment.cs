using OnnxCoEvo.Agents.Environments;
using OnnxCoEvo.Agents.Policies;
using OnnxCoEvo.Agents.Protocol;

namespace OnnxCoEvo.Tests.Agents.TestSupport;

/// <summary>A suite that forwards everything to another; tests override the one member they change (name, dialect, sessions).</summary>
public class DelegatingEnvironmentSuite(IEnvironmentSuite inner) : IEnvironmentSuite
{
    protected IEnvironmentSuite Inner => inner;

    public virtual string Name => inner.Name;
    public ReActProtocol Protocol => inner.Protocol;
    public virtual AgentGymDialect Dialect => inner.Dialect;
    public IReadOnlyList<string> Splits => inner.Splits;
    public IReadOnlyList<EnvironmentTask> Tasks(string split) => inner.Tasks(split);
    public EnvironmentTask Task(int index) => inner.Task(index);
    public virtual IEnvironmentSession CreateSession() => inner.CreateSession();
    public IPolicy CreateExpert(ExpertOptions options) => inner.CreateExpert(options);
    public IReadOnlyDictionary<string, double> ExpertFailureModes => inner.ExpertFailureModes;
}

/// <summary>A session that forwards everything to another; tests override the calls they change.</summary>
public class DelegatingEnvironmentSession(IEnvironmentSession inner) : IEnvironmentSession
{
    protected IEnvironmentSession Inner => inner;

    public EnvironmentTask? Task => inner.Task;
    public virtual ValueTask<string> ResetAsync(EnvironmentTask task, CancellationToken cancellationToken = default) => inner.ResetAsync(task, cancellationToken);
    public virtual ValueTask<StepResult> StepAsync(string action, CancellationToken cancellationToken = default) => inner.StepAsync(action, cancellationToken);
    public ValueTask<string> ObservationAsync(CancellationToken cancellationToken = default) => inner.ObservationAsync(cancellationToken);
    public virtual ValueTask<ActionSpace> AvailableActionsAsync(CancellationToken cancellationToken = default) => inner.AvailableActionsAsync(cancellationToken);
    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
