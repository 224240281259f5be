using Akka.Actor;
using Akka.Event;

namespace DistributedBackprop.Actors;

/// <summary>
/// A cluster node's Akka log on standard error, one line per event, chosen by <see cref="NodeLogFilter"/>.
/// dbp node itself logs through Microsoft.Extensions.Logging instead (its host's bridge uses the same
/// filter); this one serves actor systems made without the host (<see cref="ActorSystems.CreateCluster"/>).
/// </summary>
public sealed class NodeLogger : ReceiveActor
{
    private readonly NodeLogFilter _filter = new();

    public NodeLogger()
    {
        Receive<LogEvent>(e =>
        {
            if (_filter.Line(e) is { } line)
                Console.Error.WriteLine($"[{e.LogLevel().ToString().Replace("Level", "").ToUpperInvariant()}] {e.LogSource}: {line}");
        });
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
    }
}
