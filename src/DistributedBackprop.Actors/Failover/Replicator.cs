using Akka.Actor;
using Akka.Cluster;

namespace DistributedBackprop.Actors.Failover;

/// <summary>
/// On the active parameter-server node: after a step, asks the server for its state and sends it to the
/// <see cref="Standby"/> of every other parameter-server node. One ask at a time: steps that end while one
/// is under way are covered by the next, so under load a standby hears every few steps, and a new active
/// node recomputes the steps since (a step is a pure function of the state, the step number and the seed).
/// </summary>
public sealed class Replicator : ReceiveActor
{
    public sealed record Stepped(long Step) : INoSerializationVerificationNeeded;

    public Replicator(string server)
    {
        var cluster = Akka.Cluster.Cluster.Get(Context.System);
        bool asking = false, again = false;
        void Ask()
        {
            var standbys = Standbys(cluster);
            if (standbys.Count == 0) return;
            asking = true;
            Context.ActorSelection(server).Ask<StateSnapshot>(GetState.Instance, TimeSpan.FromSeconds(10)).PipeTo(Self);
        }
        Receive<Stepped>(_ => { if (asking) again = true; else Ask(); });
        Receive<StateSnapshot>(s =>
        {
            foreach (var node in Standbys(cluster)) Context.ActorSelection(new RootActorPath(node) / "user" / Standby.Name).Tell(s);
            asking = false;
            if (again) { again = false; Ask(); }
        });
        Receive<Status.Failure>(_ => asking = false); // the run ended under the ask
    }

    private static List<Address> Standbys(Akka.Cluster.Cluster cluster) =>
        [.. cluster.State.Members.Where(m => m.HasRole(ActorSystems.ParameterServerRole) && m.Status == MemberStatus.Up
            && m.Address != cluster.SelfAddress && !cluster.State.Unreachable.Contains(m)).Select(m => m.Address)];

    public static Props Props(string server) => Akka.Actor.Props.Create(() => new Replicator(server));
}
