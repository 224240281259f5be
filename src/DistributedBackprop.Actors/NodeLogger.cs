using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Event;

namespace DistributedBackprop.Actors;

/// <summary>
/// A cluster node's Akka log on standard error, one line per event: Akka.Remote writes a page per refused
/// TLS connection (troubleshooting hints, inner exceptions, stack traces) and repeats its association
/// warnings every few seconds, which buries dbp's own one-line reasons. So only an event's first line is
/// shown, the transport's TLS pages are left out (dbp says which peer it refused and why; Akka's
/// "Rejected incoming connection" line stays), and each kind of line is shown at most
/// <see cref="Repeats"/> times.
/// </summary>
public sealed partial class NodeLogger : ReceiveActor
{
    public const int Repeats = 3;
    private readonly ConcurrentDictionary<string, int> _seen = new();

    [GeneratedRegex(@"\[[^\]]*\]|\b[0-9a-fA-F]{6,}\b|\d+")]
    private static partial Regex Variable();

    public NodeLogger()
    {
        Receive<LogEvent>(e =>
        {
            var text = e.Message?.ToString() ?? "";
            var line = text.Split('\n', 2)[0].TrimEnd();
            if (line.StartsWith("TLS handshake failed on channel") || line.StartsWith("Error caught channel")) return;
            var key = e.LogSource + Variable().Replace(line, "#");
            if (_seen.AddOrUpdate(key, 1, (_, n) => n + 1) > Repeats) return;
            if (line.Length > 400) line = line[..400] + "...";
            Console.Error.WriteLine($"[{e.LogLevel().ToString().Replace("Level", "").ToUpperInvariant()}] {e.LogSource}: {line}");
        });
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
    }
}
