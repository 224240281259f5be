using Akka.Actor;
using Akka.Cluster;

namespace DistributedBackprop.Actors.Failover;

/// <summary>
/// The cluster's split-brain resolver (<c>akka.cluster.downing-provider-class</c> in hocon/cluster.hocon):
/// once the members this node cannot reach have stayed the same for <c>stable-after</c>, the leader of this
/// side downs either them or its own side, as <see cref="DowningRule"/> decides. Before that, a member whose
/// connection dropped and whose port refuses connections is downed at once (<see cref="DeadPortProbe"/>).
/// </summary>
public sealed class ServerSideDowning(ActorSystem system, Akka.Cluster.Cluster cluster) : IDowningProvider
{
    private readonly TimeSpan _stableAfter = system.Settings.Config.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after", TimeSpan.FromSeconds(3));
    private readonly bool _downRefusingPorts = system.Settings.Config.GetBoolean("akka.cluster.split-brain-resolver.down-refusing-ports", true);

    /// <summary>
    /// No margin before a downed server's singleton starts elsewhere: the side it was on downs itself after
    /// the same stable-after, and even if it ran a step more, its steps are the same bits as the new active's.
    /// </summary>
    public TimeSpan DownRemovalMargin => TimeSpan.Zero;

    public Props DowningActorProps => Props.Create(() => new Downer(cluster, _stableAfter, _downRefusingPorts));

    private sealed class Downer : ReceiveActor, IWithTimers
    {
        private sealed record Settled;
        public ITimerScheduler Timers { get; set; } = null!;

        public Downer(Akka.Cluster.Cluster cluster, TimeSpan stableAfter, bool downRefusingPorts)
        {
            if (downRefusingPorts) Context.ActorOf(DeadPortProbe.Props(cluster), "dead-port-probe"); // a killed node downed at once
            // Any change of membership, reachability or leader starts the wait again.
            Receive<ClusterEvent.IClusterDomainEvent>(_ => Timers.StartSingleTimer("settle", new Settled(), stableAfter));
            Receive<ClusterEvent.CurrentClusterState>(_ => Timers.StartSingleTimer("settle", new Settled(), stableAfter));
            Receive<Settled>(_ =>
            {
                var state = cluster.State;
                var members = state.Members.Where(m => m.Status is not (MemberStatus.Down or MemberStatus.Exiting or MemberStatus.Removed))
                    .OrderBy(m => m, Member.AgeOrdering).ToList();
                if (!members.Any(m => state.Unreachable.Contains(m))) return;
                Timers.StartSingleTimer("settle", new Settled(), stableAfter); // look again: the leader may change, or a down may be lost
                if (state.Leader != cluster.SelfAddress) return;
                var view = members.Select(m => new DowningRule.Member(m.Address.ToString(), m.HasRole(ActorSystems.ParameterServerRole), !state.Unreachable.Contains(m))).ToList();
                switch (DowningRule.Decide(view))
                {
                    case DowningRule.Decision.DownUnreachable:
                        foreach (var m in members.Where(m => state.Unreachable.Contains(m))) cluster.Down(m.Address);
                        break;
                    case DowningRule.Decision.DownReachable:
                        foreach (var m in members.Where(m => !state.Unreachable.Contains(m) && m.Address != cluster.SelfAddress)) cluster.Down(m.Address);
                        cluster.Down(cluster.SelfAddress);
                        break;
                }
            });
            cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot,
                typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent), typeof(ClusterEvent.LeaderChanged));
        }

        protected override void PostStop() => Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);
    }
}
