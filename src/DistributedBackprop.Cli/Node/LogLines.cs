using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace DistributedBackprop.Cli;

/// <summary>How a node writes its log: plain lines for people, or one JSON object a line for log collectors.</summary>
public enum LogFormat { Text, Json }

/// <summary>
/// A log event as one line, pure: a UTC time stamp to the millisecond (so the nodes' logs can be lined up),
/// the level, the category and the message, then the exception and every cause behind it ("IOException: ...
/// ← SocketException: ..."). Stack frames only with DBP_DEBUG=1: a node's log is read by people and
/// collectors, and the frames of a refused connection say nothing to either.
/// </summary>
public static class LogLines
{
    public static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "error",
        LogLevel.Critical => "critical",
        _ => "none",
    };

    /// <summary>The exception and its causes, outermost first, each as "Type: message" on one line.</summary>
    public static IReadOnlyList<string> Causes(Exception? exception)
    {
        var causes = new List<string>();
        for (var e = exception; e is not null && causes.Count < 10; e = e.InnerException)
            causes.Add($"{e.GetType().Name}: {OneLine(e.Message)}");
        return causes;
    }

    public static string Text(DateTimeOffset time, LogLevel level, string category, string message, Exception? exception, bool stackTrace = false)
    {
        var line = $"{Stamp(time)} {Level(level),-5} {category}: {OneLine(message)}";
        var causes = Causes(exception);
        if (causes.Count > 0) line += " | " + string.Join(" <- ", causes);
        if (stackTrace && exception?.StackTrace is { } frames) line += Environment.NewLine + frames;
        return line;
    }

    public static string Json(DateTimeOffset time, LogLevel level, string category, string message, Exception? exception, bool stackTrace = false)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("timestamp", Stamp(time));
            json.WriteString("level", Level(level));
            json.WriteString("category", category);
            json.WriteString("message", message);
            if (exception is not null)
            {
                json.WriteString("exception", Causes(exception)[0]);
                json.WriteStartArray("causes");
                foreach (var cause in Causes(exception).Skip(1)) json.WriteStringValue(cause);
                json.WriteEndArray();
                if (stackTrace && exception.StackTrace is { } frames) json.WriteString("stack_trace", frames);
            }
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static string Stamp(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}
