using Akka.Actor;
using Akka.Cluster;

namespace DistributedBackprop.Actors.Failover;

/// <summary>
/// On the active parameter-server node: at most every <see cref="Every"/>, if a step has ended since, asks the
/// server for its state and sends it to the <see cref="Standby"/> of every other parameter-server node. A
/// standby so holds a state at most that old; a new active node recomputes the steps since (a step is a pure
/// function of the state, the step number and the seed). The bound keeps a megabyte model's state from
/// crowding the heartbeats on the connection to a standby, however short its steps.
/// </summary>
public sealed class Replicator : ReceiveActor, IWithTimers
{
    public static readonly TimeSpan Every = TimeSpan.FromMilliseconds(500);

    public sealed record Stepped(long Step) : INoSerializationVerificationNeeded;
    private sealed record Tick : INoSerializationVerificationNeeded;

    public ITimerScheduler Timers { get; set; } = null!;

    public Replicator(string server)
    {
        var cluster = Akka.Cluster.Cluster.Get(Context.System);
        bool stepped = false, asking = false;
        Receive<Stepped>(_ => stepped = true);
        Receive<Tick>(_ =>
        {
            if (!stepped || asking || Standbys(cluster).Count == 0) return;
            (stepped, asking) = (false, true);
            Context.ActorSelection(server).Ask<StateSnapshot>(GetState.Instance, TimeSpan.FromSeconds(10)).PipeTo(Self);
        });
        Receive<StateSnapshot>(s =>
        {
            asking = false;
            foreach (var node in Standbys(cluster)) Context.ActorSelection(new RootActorPath(node) / "user" / Standby.Name).Tell(s);
        });
        Receive<Status.Failure>(_ => asking = false); // the run ended under the ask
        Timers.StartPeriodicTimer("tick", new Tick(), Every);
    }

    private static List<Address> Standbys(Akka.Cluster.Cluster cluster) =>
        [.. cluster.State.Members.Where(m => m.HasRole(ActorSystems.ParameterServerRole) && m.Status == MemberStatus.Up
            && m.Address != cluster.SelfAddress && !cluster.State.Unreachable.Contains(m)).Select(m => m.Address)];

    public static Props Props(string server) => Akka.Actor.Props.Create(() => new Replicator(server));
}
