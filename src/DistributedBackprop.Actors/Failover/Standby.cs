using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors.Failover;

/// <summary>
/// On every parameter-server node, at <c>/user/standby</c>: keeps the newest state the active server has
/// sent (as <see cref="StandbyRules.Accept"/> decides), and hears from the active server that the run ended
/// (<see cref="RunEnded"/>, acknowledged with the same message). It takes both only from another node that is
/// an Up member with the parameter-server role; anything else, or a state the rule refuses, is dropped and
/// logged (never thrown). The node's main thread reads what it holds through <see cref="Held"/>.
/// </summary>
public sealed class Standby : ReceiveActor
{
    public const string Name = "standby";

    /// <summary>What this node holds, read from the node's own thread without asking the actor.</summary>
    public sealed class Held
    {
        private TrainingState? _state;
        public TrainingState? State => Volatile.Read(ref _state);
        internal void Keep(TrainingState? state) => Volatile.Write(ref _state, state);
    }

    public Standby(StandbyRules.Layout layout, Held held, TaskCompletionSource<RunEnded> ended)
    {
        var cluster = Akka.Cluster.Cluster.Get(Context.System);
        var log = Context.GetLogger();
        Receive<StateSnapshot>(s =>
        {
            if (!FromOtherServer(cluster, Sender)) { log.Warning("refused a state from {0}: not another parameter-server member", Sender.Path.Address); return; }
            var (kept, refused) = StandbyRules.Accept(held.State, s, layout);
            if (refused is not null) { log.Warning("refused a state from {0}: {1}", Sender.Path.Address, refused); return; }
            held.Keep(kept);
        });
        Receive<RunEnded>(e =>
        {
            if (!FromOtherServer(cluster, Sender)) { log.Warning("refused {0} from {1}: not another parameter-server member", nameof(RunEnded), Sender.Path.Address); return; }
            Sender.Tell(e);
            ended.TrySetResult(e);
        });
    }

    private static bool FromOtherServer(Akka.Cluster.Cluster cluster, IActorRef sender)
    {
        var address = sender.Path.Address;
        return address != cluster.SelfAddress && address.HasGlobalScope && cluster.State.Members.Any(m => m.Address == address
            && m.HasRole(ActorSystems.ParameterServerRole) && m.Status is MemberStatus.Up or MemberStatus.Leaving);
    }

    public static Props Props(StandbyRules.Layout layout, Held held, TaskCompletionSource<RunEnded> ended) =>
        Akka.Actor.Props.Create(() => new Standby(layout, held, ended));
}
