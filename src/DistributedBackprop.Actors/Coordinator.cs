using Akka.Actor;
using Akka.Event;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors;

/// <summary>
/// Runs the steps of a training: a thin actor around <see cref="StepRules.Handle"/>. It turns what it
/// receives into the rule's events, and carries out what the rule decides (through the fault plan, if the
/// run has one). Its child is the run's parameter server: what the server says is taken from the server
/// only, and what this process says (workers added or lost) from this process only. A server that throws is
/// stopped, never restarted with a state it has forgotten, and the run ends saying so; a Kill is ignored.
/// </summary>
public sealed class Coordinator : ReceiveActor, IWithTimers
{
    // In-process only: never cross a wire, so not checked by serialize-messages.
    private sealed record Resend(long Step) : INoSerializationVerificationNeeded;
    private sealed record Due(StepSend<IActorRef> Send) : INoSerializationVerificationNeeded;
    public sealed record AddWorkers(IReadOnlyList<IActorRef> Workers) : INoSerializationVerificationNeeded;
    public sealed record LoseWorker(IActorRef Worker) : INoSerializationVerificationNeeded;
    /// <summary>A gradient that came over the data channel from a worker node.</summary>
    public sealed record RemoteGradient(Address Node, GradientShard Gradient) : INoSerializationVerificationNeeded;

    private readonly Action<StepLog>? _onStep;
    private readonly TaskCompletionSource<RunOutcome> _done;
    private readonly FaultInjection<IActorRef> _faults;
    private readonly IActorRef _server;
    private readonly DataPath.DataChannel? _channel;
    private readonly GradientPool _pool; // the server's: what it has summed, and what the rule releases, goes back to it
    private StepState<IActorRef> _state;
    private long _delayed; // a timer key for each delayed send

    public ITimerScheduler Timers { get; set; } = null!;

    public Coordinator(StepPlan plan, TrainingState start, Action<StepLog>? onStep, TaskCompletionSource<RunOutcome> done, FaultPlan faults,
        GradientPool? pool, DataPath.DataChannel? channel)
    {
        (_onStep, _done, _faults, _channel) = (onStep, done, new FaultInjection<IActorRef>(faults), channel);
        var initial = ServerState.Start(start.Parameters, start.Optimizer, version: start.Step, step: start.Step, pool, plan.Staleness);
        _pool = initial.Buffers.Pool;
        _server = Context.ActorOf(ParameterServer.Props(initial, plan.Settings, plan.Checkpoint, Self), "parameter-server");
        _state = StepState<IActorRef>.Start(plan, start.Step, ParameterServerRules.Update(initial));

        Context.Watch(_server);
        Receive<AddWorkers>(a => Local(), a => On(new StepEvent<IActorRef>.Joined(a.Workers)));
        Receive<LoseWorker>(l => Local(), l => On(new StepEvent<IActorRef>.Lost(l.Worker)));
        Receive<Terminated>(t => t.ActorRef.Equals(_server), _ => On(new StepEvent<IActorRef>.Refused(new StepRefused(_state.Step, "the parameter server stopped"))));
        Receive<Terminated>(t => On(new StepEvent<IActorRef>.Lost(t.ActorRef)));
        Receive<GradientShard>(g => On(new StepEvent<IActorRef>.GradientPassed(Sender, g)));
        Receive<RemoteGradient>(r => Local(), r =>
        {
            // The channel knows the node; the rule knows its worker there, if it has one.
            if (_state.Workers.FirstOrDefault(w => w.Path.Address.Equals(r.Node)) is { } worker) On(new StepEvent<IActorRef>.GradientPassed(worker, r.Gradient));
        });
        Receive<ParameterUpdate>(_ => FromServer(), u => On(new StepEvent<IActorRef>.Updated(u)));
        Receive<StepApplied>(_ => FromServer(), a => On(new StepEvent<IActorRef>.Applied(a)));
        Receive<CheckpointSaved>(_ => FromServer(), c => On(new StepEvent<IActorRef>.CheckpointWritten(c)));
        Receive<StepRefused>(_ => FromServer(), r => On(new StepEvent<IActorRef>.Refused(r)));
        Receive<StateSnapshot>(_ => FromServer(), s => On(new StepEvent<IActorRef>.Snapshot(s)));
        Receive<RolledBack>(_ => FromServer(), r => On(new StepEvent<IActorRef>.RolledBack(r)));
        Receive<Resend>(r => On(new StepEvent<IActorRef>.ResendDue(r.Step)));
        Receive<Due>(d => Perform(d.Send)); // a send the fault plan delayed
        Receive<object>(m => Context.GetLogger().Warning("refused {0} from {1}", m.GetType().Name, Sender));
    }

    protected override void PreStart() => On(new StepEvent<IActorRef>.Started());

    // However the actor ends — a throw, a stop from outside — the run hears of it: its engine waits on this.
    protected override void PostStop() => _done.TrySetResult(new RunOutcome(null, new InvalidOperationException($"step {_state.Step}: the coordinator stopped")));

    private bool Local() => Sender.Path.Address.HasLocalScope;

    /// <summary>A worker as a reader knows it: its path, without the brackets and the incarnation number an actor reference prints.</summary>
    private static string Named(string worker) => System.Text.RegularExpressions.Regex.Replace(worker, @"^\[|#-?\d+\]$", "");

    private bool FromServer() => Sender.Equals(_server);

    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(e => e is ActorKilledException ? Directive.Resume : Directive.Stop);

    private void On(StepEvent<IActorRef> e)
    {
        var before = _state;
        (_state, var sends) = StepRules.Handle(_state, e);
        ServerMetrics.Record(before, _state);
        foreach (var send in _faults.Apply(sends)) Perform(send);
    }

    private void Perform(StepSend<IActorRef> send)
    {
        switch (send)
        {
            case StepSend<IActorRef>.Compute c:
                if (_channel?.SendWork(c.Worker.Path.Address, c.Shard) != true) c.Worker.Tell(c.Shard, Self);
                break;
            case StepSend<IActorRef>.Update u:
                if (_channel?.Send(u.Worker.Path.Address, u.Parameters) != true) u.Worker.Tell(u.Parameters, Self);
                break;
            case StepSend<IActorRef>.Pass p: _server.Tell(p.Gradient, Self); break;
            case StepSend<IActorRef>.ToServer m: _server.Tell(m.Message, Self); break;
            case StepSend<IActorRef>.Watch w: Context.Watch(w.Worker); break;
            case StepSend<IActorRef>.Unwatch w: Context.Unwatch(w.Worker); break;
            case StepSend<IActorRef>.ScheduleResend r: Timers.StartSingleTimer("resend", new Resend(r.Step), r.After); break;
            case StepSend<IActorRef>.Log l: _onStep?.Invoke(l.Entry.Replay is { } replay ? l.Entry with { Replay = replay with { Worker = Named(replay.Worker) } } : l.Entry); break;
            case StepSend<IActorRef>.Finish f: _done.TrySetResult(f.Outcome); Context.Stop(Self); break;
            case StepSend<IActorRef>.Later l: Timers.StartSingleTimer($"delay {_delayed++}", new Due(l.Send), l.By); break;
            case StepSend<IActorRef>.Stop s: Context.Stop(s.Worker); break;
            case StepSend<IActorRef>.Release r: _pool.Return(r.Gradient.Buffers()); break;
            case StepSend<IActorRef>.Exclude x: Context.GetLogger().Warning("worker {0} is out of the run: {1}", x.Worker.Path, x.Reason); break;
            default: throw new System.Diagnostics.UnreachableException();
        }
    }

    /// <summary>A coordinator and its server; <paramref name="pool"/> is the one the run's workers rent their gradients from, if they share this process.</summary>
    /// <remarks>Updates and work go to worker nodes over <paramref name="channel"/> where they are connected to it, by Akka otherwise.</remarks>
    public static Props Props(StepPlan plan, TrainingState start, Action<StepLog>? onStep, TaskCompletionSource<RunOutcome> done, FaultPlan? faults = null,
        GradientPool? pool = null, DataPath.DataChannel? channel = null) =>
        Akka.Actor.Props.Create(() => new Coordinator(plan, start, onStep, done, faults ?? FaultPlan.None, pool, channel));
}
