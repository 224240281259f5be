using Akka.Actor;
using DistributedBackprop.Data;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors;

/// <summary>
/// The distributed trainer in one process: a parameter server, a coordinator and N worker actors, each
/// worker with the data. Same settings, same parameters as <see cref="Trainer"/>, bit for bit, for any N.
/// A fault plan, if given, acts on the coordinator's sends and the workers' arithmetic; <c>resendAfter</c> is
/// how long a step waits for lost messages before it sends its work again (default 5 s); <c>audit</c> is the
/// fraction of nodes two workers compute, compared bit for bit.
/// </summary>
public sealed class LocalEngine : ITrainingEngine
{
    private readonly TrainingSettings _settings;
    private readonly Dataset _data;
    private readonly CheckpointPolicy? _checkpoint;
    private readonly FaultPlan _faults;
    private readonly TimeSpan _resendAfter;
    private readonly ActorSystem _system;
    private readonly GradientPool _pool; // the workers' gradients go out in its buffers, and the server gives them back

    private readonly double _audit;

    public LocalEngine(TrainingSettings settings, Dataset data, int workers, CheckpointPolicy? checkpoint = null, FaultPlan? faults = null,
        string? hoconOverrides = null, TimeSpan? resendAfter = null, double audit = 0)
    {
        if (audit is < 0 or > 1 || double.IsNaN(audit)) throw new ArgumentOutOfRangeException(nameof(audit), $"an audit fraction is from 0 to 1, not {audit}");
        _audit = audit;
        if (workers <= 0) throw new ArgumentOutOfRangeException(nameof(workers), "at least one worker");
        (_settings, _data, _checkpoint, _faults, Workers) = (settings, data, checkpoint, faults ?? FaultPlan.None, workers);
        _resendAfter = resendAfter ?? StepPlan.DefaultResendAfter;
        _system = ActorSystems.CreateLocal("dbp", hoconOverrides);
        _pool = GradientPool.For(settings.Objective);
    }

    public int Workers { get; }

    public TrainingState Run(TrainingState state, long until, Action<StepLog>? onStep = null)
    {
        var done = new TaskCompletionSource<RunOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        var plan = new StepPlan(_settings, until, _checkpoint, WaitForWorkers: false, _resendAfter, Audit: _audit);
        var coordinator = _system.ActorOf(Coordinator.Props(plan, state, onStep, done, _faults, _pool));
        // Fresh workers for each run: a fault plan may stop some, and each holds only its run's parameters.
        var workers = Enumerable.Range(0, Workers).Select(k => _system.ActorOf(Worker.Props(_settings.Objective, _data, _pool, corrupt: step => _faults.Corrupts(k, step)))).ToList();
        coordinator.Tell(new Coordinator.AddWorkers(workers));
        var outcome = done.Task.GetAwaiter().GetResult();
        foreach (var w in workers) _system.Stop(w);
        return outcome.Error is null ? outcome.State! : throw outcome.Error;
    }

    public void Dispose() => _system.Terminate().Wait(TimeSpan.FromSeconds(10));
}
