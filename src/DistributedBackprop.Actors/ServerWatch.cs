using Akka.Actor;
using Akka.Cluster;
using Akka.Remote;

namespace DistributedBackprop.Actors;

/// <summary>
/// On a worker node: completes <c>serverGone</c> when the last parameter-server node leaves the cluster (the
/// active one does so at the end of every run, after saying how the run ended; a standby leaving is not the
/// end). Its removal alone is not leaving: when this
/// node is downed, its own cluster reports every member removed as it shuts down, and the node then rejoins
/// instead. Completes <c>cutOff</c> when the server has quarantined this node (it downed it while it was
/// paused or unreachable): this incarnation can never talk to it again, so the node starts a new one at
/// once rather than waiting for its own failure detector to agree.
/// </summary>
public sealed class ServerWatch : ReceiveActor
{
    public ServerWatch(TaskCompletionSource<string> serverGone, TaskCompletionSource cutOff)
    {
        var cluster = Akka.Cluster.Cluster.Get(Context.System);
        // Leaving is the first sign of a server that finished: later signs may never reach a worker, as the
        // server, the cluster's leader, is gone before it could gossip them.
        Receive<ClusterEvent.IMemberEvent>(e =>
        {
            // With standby servers, one leaving is not the end: the last one is.
            if (e.Member.HasRole(ActorSystems.ParameterServerRole) && e is ClusterEvent.MemberLeft or ClusterEvent.MemberExited
                && !cluster.State.Members.Any(m => m.HasRole(ActorSystems.ParameterServerRole) && m.Status == MemberStatus.Up && m.UniqueAddress != e.Member.UniqueAddress))
                serverGone.TrySetResult("the parameter server left");
        });
        Receive<ThisActorSystemQuarantinedEvent>(q =>
        {
            if (cluster.State.Members.Any(m => m.Address == q.RemoteAddress && m.HasRole(ActorSystems.ParameterServerRole))) cutOff.TrySetResult();
        });
        cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.IMemberEvent));
        Context.System.EventStream.Subscribe(Self, typeof(ThisActorSystemQuarantinedEvent));
    }

    protected override void PostStop()
    {
        Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);
        Context.System.EventStream.Unsubscribe(Self);
    }

    public static Props Props(TaskCompletionSource<string> serverGone, TaskCompletionSource cutOff) =>
        Akka.Actor.Props.Create(() => new ServerWatch(serverGone, cutOff));
}
