using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Tools.Singleton;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors.Failover;

/// <summary>
/// A parameter-server node's part in choosing the active server: every such node stands by (a
/// <see cref="Standby"/> holding the active one's state) under a cluster singleton of the role, so the
/// oldest of them is active and, when it is downed, the next oldest becomes active. <see cref="AwaitTurn"/>
/// blocks until this node is active, or the run has ended on another, or this node is stopped.
/// </summary>
public sealed class ServerRole
{
    public const string SingletonName = "active-server";

    /// <summary>Why <see cref="AwaitTurn"/> returned: this node is active (from <paramref name="Resume"/>), or the run ended elsewhere.</summary>
    public sealed record Turn(TrainingState? Resume, RunEnded? Ended, bool Stopped);

    private readonly ActorSystem _system;
    private readonly Standby.Held _held = new();
    private readonly TaskCompletionSource<RunEnded> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _active = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ServerRole(ActorSystem system, TrainingSettings settings)
    {
        _system = system;
        system.ActorOf(Standby.Props(StandbyRules.Layout.Of(settings), _held, _ended), Standby.Name);
        var singleton = ClusterSingletonManagerSettings.Create(system).WithRole(ActorSystems.ParameterServerRole);
        system.ActorOf(ClusterSingletonManager.Props(Props.Create(() => new Active(_active)), PoisonPill.Instance, singleton), SingletonName);
    }

    public Turn AwaitTurn()
    {
        int which = Task.WaitAny(_active.Task, _ended.Task, _system.WhenTerminated);
        return which switch
        {
            0 => new Turn(_held.State, null, false),
            1 => new Turn(null, _ended.Task.Result, false),
            _ => new Turn(null, null, true),
        };
    }

    /// <summary>
    /// Tells every other parameter-server node how the run ended, so none takes over a finished run, and waits
    /// for each to acknowledge (at most <paramref name="limit"/> in all). Returns how many did.
    /// </summary>
    public int AnnounceEnded(RunEnded message, TimeSpan limit)
    {
        var cluster = Akka.Cluster.Cluster.Get(_system);
        var others = cluster.State.Members.Where(m => m.HasRole(ActorSystems.ParameterServerRole) && m.Address != cluster.SelfAddress
            && m.Status is MemberStatus.Up or MemberStatus.Joining or MemberStatus.WeaklyUp && !cluster.State.Unreachable.Contains(m)).Select(m => m.Address);
        return WorkerHost.Announce(_system, others, Standby.Name, message, limit);
    }

    /// <summary>The singleton: it exists only on the active node, and only says so.</summary>
    private sealed class Active : ReceiveActor
    {
        public Active(TaskCompletionSource active)
        {
            active.TrySetResult();
            ReceiveAny(_ => { });
        }
    }
}
