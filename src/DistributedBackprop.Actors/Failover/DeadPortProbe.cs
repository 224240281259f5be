using System.Net.Sockets;
using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Remote;

namespace DistributedBackprop.Actors.Failover;

/// <summary>
/// Downs a member as soon as its connection drops and its port refuses connections (<see cref="DeadPortRule"/>):
/// a killed active server is replaced in seconds, not after the failure detector's pause. Started by the
/// cluster's downing provider on every node. Tries only the addresses of the cluster's own members, a bounded
/// number of times for each connection lost.
/// </summary>
public sealed class DeadPortProbe : ReceiveActor, IWithTimers
{
    private sealed record Tried(Address Node, DeadPortRule.Answer Answer);
    private sealed record TryAgain(Address Node);

    private readonly Akka.Cluster.Cluster _cluster;
    private readonly Dictionary<Address, List<DeadPortRule.Answer>> _probing = [];

    public ITimerScheduler Timers { get; set; } = null!;

    public DeadPortProbe(Akka.Cluster.Cluster cluster)
    {
        _cluster = cluster;
        Receive<DisassociatedEvent>(d =>
        {
            if (!_probing.ContainsKey(d.RemoteAddress) && Live(d.RemoteAddress)) Try(d.RemoteAddress, []);
        });
        Receive<Tried>(t =>
        {
            if (!_probing.TryGetValue(t.Node, out var answers)) return;
            answers.Add(t.Answer);
            switch (DeadPortRule.After(Live(t.Node), answers))
            {
                case DeadPortRule.Verdict.TryAgain:
                    Timers.StartSingleTimer(t.Node, new TryAgain(t.Node), DeadPortRule.Between);
                    break;
                case DeadPortRule.Verdict.Down:
                    _probing.Remove(t.Node);
                    Context.GetLogger().Warning("node {0}: its connection dropped and its port refused {1} connections: the process is gone; downing it", t.Node, answers.Count);
                    Down(t.Node);
                    break;
                default:
                    _probing.Remove(t.Node);
                    break;
            }
        });
        Receive<TryAgain>(t => { if (_probing.TryGetValue(t.Node, out var answers)) Try(t.Node, answers); });
    }

    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(DisassociatedEvent));

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    /// <summary>
    /// Down, and quarantined: the leader removes a downed member only once it is also unreachable, which the
    /// failure detector would take its 8 s to say; a quarantine marks it terminated now. Either is for good,
    /// which is right for a process that is gone: a node that comes back is a new incarnation and joins anew.
    /// </summary>
    private void Down(Address node)
    {
        var member = _cluster.State.Members.FirstOrDefault(m => m.Address == node);
        _cluster.Down(node);
        if (member is not null && Context.System is ExtendedActorSystem { Provider: IRemoteActorRefProvider remote })
            remote.Quarantine(node, member.UniqueAddress.Uid);
    }

    /// <summary>A member of the cluster, other than this node, that is not leaving or down.</summary>
    private bool Live(Address node) =>
        node != _cluster.SelfAddress &&
        _cluster.State.Members.Any(m => m.Address == node && m.Status is MemberStatus.Up or MemberStatus.Joining or MemberStatus.WeaklyUp);

    private void Try(Address node, List<DeadPortRule.Answer> answers)
    {
        _probing[node] = answers;
        if (node.Host is not { } host || node.Port is not int port) { Self.Tell(new Tried(node, DeadPortRule.Answer.Silent)); return; }
        Answer(host, port).PipeTo(Self, success: a => new Tried(node, a), failure: _ => new Tried(node, DeadPortRule.Answer.Silent));
    }

    private static async Task<DeadPortRule.Answer> Answer(string host, int port)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(DeadPortRule.ConnectTimeout);
        try
        {
            await socket.ConnectAsync(host, port, timeout.Token);
            return DeadPortRule.Answer.Accepted;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused) { return DeadPortRule.Answer.Refused; }
        catch (Exception e) when (e is SocketException or OperationCanceledException) { return DeadPortRule.Answer.Silent; }
    }

    public static Props Props(Akka.Cluster.Cluster cluster) => Akka.Actor.Props.Create(() => new DeadPortProbe(cluster));
}
