namespace OnnxCoEvo.Agents.Environments.Household;

/// <summary>
/// One household episode: a fresh <see cref="HouseholdWorld"/> of the task's layout at each reset. Reward 1.0 and done
/// on the step the goal holds (won), else 0; inadmissible actions answer "Nothing happened.". Fully deterministic.
/// </summary>
public sealed class HouseholdSession(HouseholdEnvironmentSuite suite) : IEnvironmentSession
{
    private HouseholdTaskSpec? _spec;
    private HouseholdWorld? _world;
    private string _observation = "";

    public EnvironmentTask? Task => _spec?.Task;

    /// <summary>True once the goal has held.</summary>
    public bool Won { get; private set; }

    public ValueTask<string> ResetAsync(EnvironmentTask task, CancellationToken cancellationToken = default)
    {
        _spec = suite.Spec(task);
        _world = new HouseholdWorld(_spec.Layout);
        Won = false;
        _observation = _spec.FirstObservation(_world);
        return ValueTask.FromResult(_observation);
    }

    public ValueTask<StepResult> StepAsync(string action, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(action);
        if (_spec is null || _world is null)
            throw new InvalidOperationException("household: step before reset");
        if (Won)
            throw new InvalidOperationException($"The task with environment {_spec.Task.Id} has finished.");
        _observation = _world.Step(action);
        Won = _spec.Goal.IsSatisfiedBy(_world);
        return ValueTask.FromResult(new StepResult(_observation, Won ? 1.0 : 0.0, Won));
    }

    public ValueTask<string> ObservationAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(_observation);

    public ValueTask<ActionSpace> AvailableActionsAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(new ActionSpace(false, _world is null || Won ? [] : _world.AdmissibleCommands()));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
