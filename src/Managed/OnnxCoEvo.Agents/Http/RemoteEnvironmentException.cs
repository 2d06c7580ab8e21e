using System.Globalization;

namespace OnnxCoEvo.Agents.Http;

/// <summary>
/// A remote environment server refused a request, answered something that does not follow its dialect, or could not be
/// reached. <see cref="StatusCode"/> is null when no HTTP answer came (connection refused, timeout) and 200 when the
/// answer came but made no sense or was an AgentGym-style <c>{"error": ...}</c> with status 200.
/// </summary>
public sealed class RemoteEnvironmentException : Exception
{
    public RemoteEnvironmentException(string method, string path, int? statusCode, string problem, Exception? innerException = null)
        : base(string.Create(CultureInfo.InvariantCulture,
            $"{method} {path} -> {(statusCode is int code ? code.ToString(CultureInfo.InvariantCulture) : "no answer")}: {problem}"), innerException)
    {
        Method = method;
        Path = path;
        StatusCode = statusCode;
        Problem = problem;
    }

    /// <summary>"GET" or "POST".</summary>
    public string Method { get; }

    /// <summary>The request path with its query, e.g. "/observation?id=3".</summary>
    public string Path { get; }

    public int? StatusCode { get; }

    /// <summary>The server's own error message when it sent one, else what was wrong with the answer.</summary>
    public string Problem { get; }
}
