using Akka.Actor;
using Akka.Cluster;

namespace DistributedBackprop.Actors;

/// <summary>
/// On the parameter-server node: watches cluster membership, sends the job to every worker node that comes
/// up, and introduces each ready worker to the coordinator of the run in progress (so a node that joins
/// late is used from the next step). A worker node that becomes unreachable is reported lost at once, so its
/// shards go to the others without waiting for it to be downed. It believes only cluster members: a
/// <see cref="WorkerReady"/> or <see cref="JobFailed"/> counts only from a node that is an Up member with
/// the worker role (anything else is counted in <see cref="Status.Refused"/> and dropped). Nodes are told
/// apart by their unique address, so a worker that comes back on the same host and port as a new
/// incarnation is a new worker, and the old one's removal does not remove it.
/// </summary>
public sealed class Recruiter : ReceiveActor, IWithTimers
{
    private sealed record Retry : INoSerializationVerificationNeeded;
    public sealed record SetCoordinator(IActorRef? Coordinator) : INoSerializationVerificationNeeded;

    /// <summary>Counts the engine reads from its own thread, without asking the actor.</summary>
    public sealed class Status
    {
        private int _ready, _used, _refused;
        public int Ready => Volatile.Read(ref _ready);
        public int Used => Volatile.Read(ref _used);
        /// <summary>Messages dropped because their sender was not an Up worker member.</summary>
        public int Refused => Volatile.Read(ref _refused);
        internal void Set(int ready, int used) { Volatile.Write(ref _ready, ready); Volatile.Write(ref _used, used); }
        internal void Refuse() => Interlocked.Increment(ref _refused);
    }

    private readonly HashSet<UniqueAddress> _up = [];                 // worker nodes up, offered the job
    private readonly Dictionary<UniqueAddress, IActorRef> _workers = []; // ... that answered ready
    private readonly HashSet<UniqueAddress> _everUsed = [];           // ... that a run has used
    private readonly Status _status;
    private IActorRef? _coordinator;

    public ITimerScheduler Timers { get; set; } = null!;

    public Recruiter(JobDescription job, Status status)
    {
        _status = status;
        var cluster = Akka.Cluster.Cluster.Get(Context.System);
        Receive<ClusterEvent.MemberUp>(up =>
        {
            if (!up.Member.HasRole(ActorSystems.WorkerRole)) return;
            _up.Add(up.Member.UniqueAddress);
            Offer(up.Member.Address, job);
        });
        // The job is offered again until the node answers: a first offer can be lost.
        Receive<Retry>(_ => { foreach (var node in _up.Where(n => !_workers.ContainsKey(n))) Offer(node.Address, job); });
        Receive<WorkerReady>(_ =>
        {
            if (UpWorker(cluster, Sender) is not { } node) { _status.Refuse(); return; }
            if (_workers.TryGetValue(node, out var known) && known.Equals(Sender)) return; // an answer to a repeated offer
            if (known is not null) Lose(node); // another actor on the same node: the node's word replaces it
            _workers[node] = Sender;
            if (_coordinator is not null) Introduce([Sender]);
            else Publish();
        });
        Receive<JobFailed>(f =>
        {
            if (UpWorker(cluster, Sender) is null) { _status.Refuse(); return; }
            OperatorLog.Warning($"worker {Sender.Path.Address} cannot run the job: {Clip(f.Reason)}");
        });
        Receive<ClusterEvent.UnreachableMember>(u => { _up.Remove(u.Member.UniqueAddress); Lose(u.Member.UniqueAddress); });
        // A worker that was unreachable for a moment (a pause too short to be downed) is offered the job again.
        Receive<ClusterEvent.ReachableMember>(r =>
        {
            if (!r.Member.HasRole(ActorSystems.WorkerRole) || r.Member.Status != MemberStatus.Up) return;
            _up.Add(r.Member.UniqueAddress);
            Offer(r.Member.Address, job);
        });
        Receive<ClusterEvent.MemberRemoved>(r => { _up.Remove(r.Member.UniqueAddress); Lose(r.Member.UniqueAddress); });
        Receive<ClusterEvent.IMemberEvent>(_ => { });
        Receive<ClusterEvent.IReachabilityEvent>(_ => { });
        Receive<SetCoordinator>(s =>
        {
            _coordinator = s.Coordinator;
            if (_coordinator is not null) Introduce(_workers.Values.ToList());
        });
        cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.UnreachableMember), typeof(ClusterEvent.ReachableMember));
        Timers.StartPeriodicTimer("retry", new Retry(), TimeSpan.FromSeconds(2));
    }

    /// <summary>The sender's node, if it is an Up member with the worker role (and not this node); else null.</summary>
    private static UniqueAddress? UpWorker(Akka.Cluster.Cluster cluster, IActorRef sender)
    {
        var address = sender.Path.Address;
        if (address == cluster.SelfAddress || !address.HasGlobalScope) return null;
        var member = cluster.State.Members.FirstOrDefault(m => m.Address == address);
        return member is { Status: MemberStatus.Up } && member.HasRole(ActorSystems.WorkerRole)
            && !cluster.State.Unreachable.Contains(member) ? member.UniqueAddress : null;
    }

    private static string Clip(string? text) => text is null ? "(no reason given)" : text.Length <= 300 ? text : text[..300] + "...";

    private void Offer(Address node, JobDescription job) =>
        Context.ActorSelection(new RootActorPath(node) / "user" / WorkerHost.Name).Tell(job);

    private void Introduce(IReadOnlyList<IActorRef> workers)
    {
        foreach (var (node, _) in _workers.Where(kv => workers.Contains(kv.Value))) _everUsed.Add(node);
        _coordinator!.Tell(new Coordinator.AddWorkers(workers));
        Publish();
    }

    private void Lose(UniqueAddress node)
    {
        if (!_workers.Remove(node, out var worker)) return;
        _coordinator?.Tell(new Coordinator.LoseWorker(worker));
        Publish();
    }

    private void Publish() => _status.Set(_workers.Count, _everUsed.Count);

    protected override void PostStop() => Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);

    public static Props Props(JobDescription job, Status status) => Akka.Actor.Props.Create(() => new Recruiter(job, status));
}
