using Akka.Actor;
using Akka.Event;

namespace DistributedBackprop.Actors;

/// <summary>
/// Akka's log on standard error: standard output is dbp's own (its JSON lines must be the last lines there),
/// and Akka's default logger writes to standard output.
/// </summary>
public sealed class StandardErrorLogger : ReceiveActor
{
    public StandardErrorLogger()
    {
        Receive<LogEvent>(e => Console.Error.WriteLine($"[{e.LogLevel().ToString().Replace("Level", "").ToUpperInvariant()}] {e.LogSource}: {e.Message}"));
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
    }
}
