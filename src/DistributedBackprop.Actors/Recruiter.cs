using Akka.Actor;
using Akka.Cluster;

namespace DistributedBackprop.Actors;

/// <summary>
/// On the parameter-server node: watches cluster membership, sends the job to every worker node that comes
/// up, and introduces each ready worker to the coordinator of the run in progress (so a node that joins
/// late is used from the next step). A worker node that becomes unreachable is reported lost at once, so its
/// shards go to the others without waiting for it to be downed.
/// </summary>
public sealed class Recruiter : ReceiveActor, IWithTimers
{
    private sealed record Retry : INoSerializationVerificationNeeded;
    public sealed record SetCoordinator(IActorRef? Coordinator) : INoSerializationVerificationNeeded;

    /// <summary>Counts the engine reads from its own thread, without asking the actor.</summary>
    public sealed class Status
    {
        private int _ready, _used;
        public int Ready => Volatile.Read(ref _ready);
        public int Used => Volatile.Read(ref _used);
        internal void Set(int ready, int used) { Volatile.Write(ref _ready, ready); Volatile.Write(ref _used, used); }
    }

    private readonly HashSet<Address> _up = [];                 // worker nodes up, offered the job
    private readonly Dictionary<Address, IActorRef> _workers = []; // ... that answered ready
    private readonly HashSet<Address> _everUsed = [];           // ... that a run has used
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
            _up.Add(up.Member.Address);
            Offer(up.Member.Address, job);
        });
        // The job is offered again until the node answers: a first offer can be lost.
        Receive<Retry>(_ => { foreach (var node in _up.Where(n => !_workers.ContainsKey(n))) Offer(node, job); });
        Receive<WorkerReady>(_ =>
        {
            _workers[Sender.Path.Address] = Sender;
            if (_coordinator is not null) Introduce([Sender]);
            else Publish();
        });
        Receive<JobFailed>(f => Console.Error.WriteLine($"dbp: worker {f.Node} cannot run the job: {f.Reason}"));
        Receive<ClusterEvent.UnreachableMember>(u => { _up.Remove(u.Member.Address); Lose(u.Member.Address); });
        Receive<ClusterEvent.MemberRemoved>(r => { _up.Remove(r.Member.Address); Lose(r.Member.Address); });
        Receive<ClusterEvent.IMemberEvent>(_ => { });
        Receive<ClusterEvent.IReachabilityEvent>(_ => { });
        Receive<SetCoordinator>(s =>
        {
            _coordinator = s.Coordinator;
            if (_coordinator is not null) Introduce(_workers.Values.ToList());
        });
        cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.UnreachableMember));
        Timers.StartPeriodicTimer("retry", new Retry(), TimeSpan.FromSeconds(2));
    }

    private void Offer(Address node, JobDescription job) =>
        Context.ActorSelection(new RootActorPath(node) / "user" / WorkerHost.Name).Tell(job);

    private void Introduce(IReadOnlyList<IActorRef> workers)
    {
        foreach (var w in workers) _everUsed.Add(w.Path.Address);
        _coordinator!.Tell(new Coordinator.AddWorkers(workers));
        Publish();
    }

    private void Lose(Address node)
    {
        if (!_workers.Remove(node, out var worker)) return;
        _coordinator?.Tell(new Coordinator.LoseWorker(worker));
        Publish();
    }

    private void Publish() => _status.Set(_workers.Count, _everUsed.Count);

    protected override void PostStop() => Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);

    public static Props Props(JobDescription job, Status status) => Akka.Actor.Props.Create(() => new Recruiter(job, status));
}
