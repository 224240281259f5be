using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Akka.Event;

namespace DistributedBackprop.Actors;

/// <summary>
/// Which of Akka's log events a node shows, and as what line: Akka.Remote writes a page per refused TLS
/// connection (troubleshooting hints, inner exceptions, stack traces) and repeats its association warnings
/// every few seconds, which buries dbp's own one-line reasons. So only an event's first line is kept, the
/// transport's TLS pages are left out (dbp says which peer it refused and why; Akka's "Rejected incoming
/// connection" line stays), and each kind of line is shown at most <see cref="Repeats"/> times.
/// </summary>
public sealed partial class NodeLogFilter
{
    public const int Repeats = 3;
    private readonly ConcurrentDictionary<string, int> _seen = new();

    [GeneratedRegex(@"\[[^\]]*\]|\b[0-9a-fA-F]{6,}\b|\d+")]
    private static partial Regex Variable();

    /// <summary>The line to show for <paramref name="e"/>, or null to leave it out.</summary>
    public string? Line(LogEvent e)
    {
        var text = e.Message?.ToString() ?? "";
        var line = text.Split('\n', 2)[0].TrimEnd();
        if (line.StartsWith("TLS handshake failed on channel") || line.StartsWith("Error caught channel")) return null;
        var key = e.LogSource + Variable().Replace(line, "#");
        if (_seen.AddOrUpdate(key, 1, (_, n) => n + 1) > Repeats) return null;
        return line.Length > 400 ? line[..400] + "..." : line;
    }
}
