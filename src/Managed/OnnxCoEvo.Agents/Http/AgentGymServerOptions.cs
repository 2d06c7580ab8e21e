namespace OnnxCoEvo.Agents.Http;

/// <summary>Where and how an <see cref="AgentGymServer"/> listens.</summary>
public sealed record AgentGymServerOptions
{
    /// <summary>An IP address ("127.0.0.1", "0.0.0.0", "::1") or "localhost".</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>0 picks a free port; <see cref="AgentGymServer.BaseAddress"/> reports the one bound.</summary>
    public int Port { get; init; }

    /// <summary>Larger request bodies are answered 413. Requests carry an id and one action, so 64 KiB is plenty.</summary>
    public int MaxRequestBodyBytes { get; init; } = 64 * 1024;

    /// <summary>
    /// Open environments at most (AgentGym's WebShop server keeps 8,000). /create beyond it is answered 503 until a
    /// client closes one; nothing is recycled behind a client's back.
    /// </summary>
    public int MaxEnvironments { get; init; } = 8_000;

    /// <summary>When set, one line per request ("POST /step 200 0.4 ms"); null (the default) logs nothing. Console.Out for console logging.</summary>
    public TextWriter? RequestLog { get; init; }

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Host))
            throw new ArgumentException("AgentGym server host must not be empty", nameof(Host));
        if (Port is < 0 or > 65535)
            throw new ArgumentOutOfRangeException(nameof(Port), Port, "AgentGym server port must be in 0..65535 (0 = any free port)");
        if (MaxRequestBodyBytes < 256)
            throw new ArgumentOutOfRangeException(nameof(MaxRequestBodyBytes), MaxRequestBodyBytes, "AgentGym server body limit must be at least 256 bytes");
        if (MaxEnvironments < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxEnvironments), MaxEnvironments, "AgentGym server must allow at least 1 environment");
    }
}
