using Akka.Actor;
using Akka.Cluster;

namespace DistributedBackprop.Actors;

/// <summary>
/// On a worker node: completes when the parameter-server node leaves the cluster (it does so at the end of
/// every run, after saying how the run ended). Its removal alone is not leaving: when this node is downed,
/// its own cluster reports every member removed as it shuts down, and the node then rejoins instead.
/// </summary>
public sealed class ServerWatch : ReceiveActor
{
    public ServerWatch(TaskCompletionSource<string> serverGone)
    {
        // Leaving is the first sign of a server that finished: later signs may never reach a worker, as the
        // server, the cluster's leader, is gone before it could gossip them.
        Receive<ClusterEvent.IMemberEvent>(e =>
        {
            if (e.Member.HasRole(ActorSystems.ParameterServerRole) && e is ClusterEvent.MemberLeft or ClusterEvent.MemberExited)
                serverGone.TrySetResult("the parameter server left");
        });
        Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.IMemberEvent));
    }

    protected override void PostStop() => Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);

    public static Props Props(TaskCompletionSource<string> serverGone) => Akka.Actor.Props.Create(() => new ServerWatch(serverGone));
}
