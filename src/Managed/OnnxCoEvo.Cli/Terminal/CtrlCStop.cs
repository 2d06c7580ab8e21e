namespace OnnxCoEvo.Cli.Terminal;

/// <summary>
/// Turns the first Ctrl+C into a cancellation the command handles gracefully (finish the step, keep what was written);
/// a second Ctrl+C kills the process as usual. Dispose to unhook.
/// </summary>
public sealed class CtrlCStop : IDisposable
{
    private readonly CancellationTokenSource _stop = new();

    public CtrlCStop() => Console.CancelKeyPress += OnCancel;

    public CancellationToken Token => _stop.Token;

    private void OnCancel(object? sender, ConsoleCancelEventArgs e)
    {
        if (_stop.IsCancellationRequested) return;
        e.Cancel = true;
        _stop.Cancel();
    }

    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancel;
        _stop.Dispose();
    }
}
