using Akka.Actor;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors;

/// <summary>
/// The distributed trainer over an Akka.Cluster, run on the parameter-server node: the coordinator and the
/// server live here, the workers are on the worker nodes the <see cref="Recruiter"/> brings in. A run waits
/// for <c>minWorkers</c> worker nodes (at most <c>joinTimeout</c>), then goes on with whoever is up.
/// Parameter updates and gradients travel on a <see cref="DataPath.DataChannel"/> of this node's where a worker
/// node has connected to it (the job description says where, with the run's token), by Akka otherwise; to a
/// worker node on this machine through shared memory in <c>sharedMemory</c> (a tmpfs directory), where given.
/// </summary>
public sealed class ClusterEngine : ITrainingEngine
{
    private readonly ActorSystem _system;
    private readonly TrainingSettings _settings;
    private readonly CheckpointPolicy? _checkpoint;
    private readonly int _minWorkers;
    private readonly TimeSpan _joinTimeout;
    private readonly IActorRef _recruiter;
    private readonly Recruiter.Status _status = new();
    private readonly GradientPool _pool;
    private readonly DataPath.DataChannel _channel;

    private int _runs; // a coordinator of each run (an epoch, for the epoch tasks) has a name of its own
    private readonly double _audit;
    private readonly TimeSpan _resendAfter;

    public ClusterEngine(ActorSystem system, TrainingSettings settings, TrainingJob job, int minWorkers, TimeSpan joinTimeout, CheckpointPolicy? checkpoint,
        ClusterTls? tls = null, double audit = 0, TimeSpan? resendAfter = null, string? sharedMemory = null)
    {
        (_audit, _resendAfter) = (audit, resendAfter ?? StepPlan.DefaultResendAfter);
        (_system, _settings, _minWorkers, _joinTimeout, _checkpoint) = (system, settings, minWorkers, joinTimeout, checkpoint);
        _pool = GradientPool.For(settings.Objective);
        var host = Akka.Cluster.Cluster.Get(system).SelfAddress.Host ?? "127.0.0.1";
        _channel = new DataPath.DataChannel(host, DataPath.ChannelModel.Of(settings.Objective), _pool, tls, sharedMemory);
        _recruiter = system.ActorOf(Recruiter.Props(new JobDescription(job, _channel.Endpoint, _channel.Token), _status), "recruiter");
    }

    /// <summary>Bytes of tensors the data channel has moved, both ways.</summary>
    public long BytesMoved => _channel.BytesMoved;

    public void Dispose()
    {
        OperatorLog.Info(DataPath.ChannelCpu.Report(_channel.BytesMoved));
        _channel.Dispose();
    }

    /// <summary>How many worker nodes have taken part so far.</summary>
    public int Workers => _status.Used;

    public TrainingState Run(TrainingState state, long until, Action<StepLog>? onStep = null)
    {
        AwaitWorkers();
        var done = new TaskCompletionSource<RunOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        var plan = new StepPlan(_settings, until, _checkpoint, WaitForWorkers: true, _resendAfter, Audit: _audit);
        // Standby servers hear the state after the steps; the replicator needs the coordinator's path, the coordinator its steps.
        var name = $"coordinator-{_runs++}";
        var replicator = _system.ActorOf(Failover.Replicator.Props($"/user/{name}/parameter-server"));
        Action<StepLog> log = step => { onStep?.Invoke(step); replicator.Tell(new Failover.Replicator.Stepped(step.Step)); };
        var coordinator = _system.ActorOf(Coordinator.Props(plan, state, log, done, pool: _pool, channel: _channel), name);
        _channel.SetCoordinator(coordinator);
        _recruiter.Tell(new Recruiter.SetCoordinator(coordinator));
        var outcome = done.Task.GetAwaiter().GetResult();
        _system.Stop(replicator);
        _recruiter.Tell(new Recruiter.SetCoordinator(null));
        _channel.SetCoordinator(null);
        return outcome.Error is null ? outcome.State! : throw outcome.Error;
    }

    public void AwaitWorkers()
    {
        var deadline = DateTime.UtcNow + _joinTimeout;
        while (_status.Ready < _minWorkers)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"only {_status.Ready} of {_minWorkers} worker nodes joined within {_joinTimeout.TotalSeconds:0} s");
            Thread.Sleep(50);
        }
    }
}
