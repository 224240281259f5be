using Akka.Actor;
using DistributedBackprop.Data;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors;

/// <summary>What a coordinator reports when its run ends: the state reached, or why it stopped.</summary>
public sealed record RunOutcome(TrainingState? State, Exception? Error);

/// <summary>
/// Walks the data: for each step it tells the server how many micro-shards the minibatch has, hands the
/// shards round-robin to the live workers, passes the workers' gradients to the server, and sends the
/// server's parameter updates to the workers. A worker that dies has its unfinished shards handed to the
/// others in the same step; a step that makes no progress for <see cref="StepTimeout"/> has its unfinished
/// shards sent again (the server ignores duplicates). Nothing restarts; a run ends at <c>until</c>.
/// </summary>
public sealed class Coordinator : ReceiveActor, IWithTimers
{
    public static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(5);
    private const int MaxResends = 20;

    // In-process only: never cross a wire, so not checked by serialize-messages.
    private sealed record Resend(long Step) : INoSerializationVerificationNeeded;
    private sealed record Deliver(IActorRef To, object Message) : INoSerializationVerificationNeeded;
    public sealed record AddWorkers(IReadOnlyList<IActorRef> Workers) : INoSerializationVerificationNeeded;
    public sealed record LoseWorker(IActorRef Worker) : INoSerializationVerificationNeeded;

    private readonly TrainingSettings _settings;
    private readonly long _until;
    private readonly Action<StepLog>? _onStep;
    private readonly TaskCompletionSource<RunOutcome> _done;
    private readonly CheckpointPolicy? _checkpoint;
    private readonly FaultPlan _faults;
    private readonly bool _waitForWorkers;
    private readonly IActorRef _server;
    private readonly List<IActorRef> _workers = [];
    private readonly List<IActorRef> _started = [];
    private ParameterUpdate _latest;

    // The step in flight: its shards' example indices, who has each, which are done, how often sent.
    private long _step;
    private int[][] _shards = [];
    private readonly Dictionary<int, IActorRef> _assigned = [];
    private readonly HashSet<int> _finished = [];
    private readonly Dictionary<int, int> _attempts = [];
    private int _resends;
    private int _next;
    private bool _begun;
    private long _delayed;

    public ITimerScheduler Timers { get; set; } = null!;

    public Coordinator(TrainingSettings settings, TrainingState start, long until, Action<StepLog>? onStep,
        TaskCompletionSource<RunOutcome> done, CheckpointPolicy? checkpoint, FaultPlan faults, bool waitForWorkers)
    {
        (_settings, _until, _onStep, _done, _checkpoint, _faults, _waitForWorkers) = (settings, until, onStep, done, checkpoint, faults, waitForWorkers);
        _step = start.Step;
        var initial = ServerState.Start(start.Parameters, start.Optimizer, version: start.Step, step: start.Step);
        _server = Context.ActorOf(ParameterServer.Props(initial, settings.Optimizer, Self), "parameter-server");
        _latest = ParameterServerRules.Update(initial);

        Receive<AddWorkers>(a => Join(a.Workers));
        Receive<GradientShard>(OnGradient);
        Receive<ParameterUpdate>(u => { _latest = u; foreach (var w in _workers) w.Tell(u); });
        Receive<StepApplied>(OnApplied);
        Receive<CheckpointSaved>(c =>
        {
            if (c.Error is not null) Finish(new RunOutcome(null, new IOException($"checkpoint {c.Path}: {c.Error}")));
            else StartOrFinish();
        });
        Receive<StepRefused>(r => Finish(new RunOutcome(null, new TrainingDivergedException(r.Step, r.Reason.Replace($"step {r.Step}: ", "")))));
        Receive<StateSnapshot>(s => Finish(new RunOutcome(new TrainingState(
            NamedTensor.ToParameters(s.Parameters), new OptimizerState<float>(s.OptimizerStep, NamedTensor.ToParameters(s.Slots)), s.Step), null)));
        Receive<Terminated>(t => OnWorkerLost(t.ActorRef));
        Receive<LoseWorker>(l => OnWorkerLost(l.Worker));
        Receive<Resend>(r => { if (r.Step == _step && _shards.Length > 0) ResendUnfinished(); });
        Receive<Deliver>(d => d.To.Tell(d.Message, Self));
    }

    protected override void PreStart()
    {
        if (_step >= _until) _server.Tell(GetState.Instance);
    }

    /// <summary>New workers get the latest parameters, then shards: the first step's, or any left without a worker.</summary>
    private void Join(IReadOnlyList<IActorRef> workers)
    {
        foreach (var worker in workers.Where(w => !_workers.Contains(w)))
        {
            Context.Watch(worker);
            _workers.Add(worker);
            _started.Add(worker);
            worker.Tell(_latest);
        }
        if (_workers.Count == 0 || _step >= _until) return;
        if (!_begun) { _begun = true; StartStep(); }
        else foreach (var shard in Unassigned()) Send(shard);
    }

    private void StartStep()
    {
        var batch = _settings.Batches.For(_step);
        var cut = Batches.MicroShards(batch.Length, _settings.MicroShard);
        _shards = cut.Select(s => batch.AsSpan(s.Start, s.Count).ToArray()).ToArray();
        _assigned.Clear();
        _finished.Clear();
        _attempts.Clear();
        _resends = 0;
        _server.Tell(new BeginStep(_step, _shards.Length, batch.Length));
        for (int i = 0; i < _shards.Length; i++) Send(i);
        if (_faults.StopWorkerAt(_step) is int k && k < _started.Count) Context.Stop(_started[k]);
        Timers.StartSingleTimer("resend", new Resend(_step), StepTimeout);
    }

    /// <summary>Sends a shard to the next live worker, through the fault plan.</summary>
    private void Send(int shard)
    {
        if (_workers.Count == 0) { _assigned.Remove(shard); return; }
        var worker = _workers[_next++ % _workers.Count];
        _assigned[shard] = worker;
        int attempt = _attempts.GetValueOrDefault(shard);
        _attempts[shard] = attempt + 1;
        Apply(_faults.OnShard(_step, shard, attempt), worker, new ComputeShard(_latest.Version, _step, shard, _shards[shard]));
    }

    private void Apply(Fault fault, IActorRef to, object message)
    {
        switch (fault)
        {
            case Fault.Drop: return;
            case Fault.Delay d: Timers.StartSingleTimer($"delay {_delayed++}", new Deliver(to, message), d.By); return;
            case Fault.Duplicate: to.Tell(message, Self); to.Tell(message, Self); return;
            default: to.Tell(message, Self); return;
        }
    }

    private void OnGradient(GradientShard g)
    {
        if (g.Step != _step) { _server.Tell(g); return; } // stale: the server counts it
        _finished.Add(g.Shard);
        Apply(_faults.OnGradient(g.Step, g.Shard, _attempts.GetValueOrDefault(g.Shard) - 1), _server, g);
    }

    private void OnApplied(StepApplied a)
    {
        if (a.Step != _step) return;
        _onStep?.Invoke(new StepLog(a.Step, _settings.Batches.Cursor(a.Step).Epoch, a.Loss));
        _step++;
        _shards = [];
        if (_checkpoint?.Due(_step, _until) == true)
            _server.Tell(new SaveCheckpoint(_checkpoint.File, CheckpointPolicy.Meta(_settings, _step)));
        else StartOrFinish();
    }

    private void StartOrFinish()
    {
        if (_step < _until) StartStep();
        else _server.Tell(GetState.Instance);
    }

    private void OnWorkerLost(IActorRef worker)
    {
        if (!_workers.Remove(worker)) return;
        Context.Unwatch(worker);
        if (_workers.Count == 0 && _waitForWorkers)
        {
            // A cluster waits for workers to (re)join; Join sends them the unassigned shards.
            foreach (var shard in _assigned.Where(kv => !_finished.Contains(kv.Key)).Select(kv => kv.Key).ToList()) _assigned.Remove(shard);
            return;
        }
        if (_workers.Count == 0)
        {
            Finish(new RunOutcome(null, new InvalidOperationException($"step {_step}: every worker has stopped")));
            return;
        }
        foreach (var shard in _assigned.Where(kv => kv.Value.Equals(worker) && !_finished.Contains(kv.Key)).Select(kv => kv.Key).ToList())
            Send(shard);
    }

    private IEnumerable<int> Unassigned() => Enumerable.Range(0, _shards.Length).Where(s => !_assigned.ContainsKey(s)).ToList();

    private void ResendUnfinished()
    {
        if (++_resends > MaxResends)
        {
            Finish(new RunOutcome(null, new TimeoutException($"step {_step} made no progress after {MaxResends} resends")));
            return;
        }
        // A gradient may have been lost after it passed here: send every shard the server may lack.
        _finished.Clear();
        for (int i = 0; i < _shards.Length; i++) Send(i);
        Timers.StartSingleTimer("resend", new Resend(_step), StepTimeout);
    }

    private void Finish(RunOutcome outcome)
    {
        _done.TrySetResult(outcome);
        Context.Stop(Self);
    }

    public static Props Props(TrainingSettings settings, TrainingState start, long until, Action<StepLog>? onStep,
        TaskCompletionSource<RunOutcome> done, CheckpointPolicy? checkpoint = null, FaultPlan? faults = null, bool waitForWorkers = false) =>
        Akka.Actor.Props.Create(() => new Coordinator(settings, start, until, onStep, done, checkpoint, faults ?? FaultPlan.None, waitForWorkers));
}
