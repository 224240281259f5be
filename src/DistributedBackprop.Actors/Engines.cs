using Akka.Actor;
using DistributedBackprop.Core;
using DistributedBackprop.Data;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors;

/// <summary>Which engine runs a training. All of them compute the same steps the same way.</summary>
public abstract record EngineChoice
{
    private EngineChoice() { }

    /// <summary>The single-process loop (<see cref="Trainer"/>): the same bits without the messages.</summary>
    public sealed record PlainLoop : EngineChoice;

    /// <summary>
    /// A parameter server, a coordinator and <paramref name="Workers"/> worker actors in this process; the fault
    /// harness's plan, the audit fraction and the resend time if given.
    /// </summary>
    public sealed record LocalActors(int Workers, FaultPlan? Faults = null, double Audit = 0, TimeSpan? ResendAfter = null) : EngineChoice;

    /// <summary>This node's part of a cluster: workers are the worker nodes that take <paramref name="Job"/>; <paramref name="Tls"/> secures its data channel.</summary>
    public sealed record Cluster(ActorSystem System, TrainingJob Job, int MinWorkers, TimeSpan JoinTimeout, ClusterTls? Tls = null, double Audit = 0, TimeSpan? ResendAfter = null,
        string? SharedMemory = null) : EngineChoice;
}

/// <summary>Chooses and builds training engines; the command line and the benchmarks only say which.</summary>
public static class Engines
{
    /// <summary>Worker actors in this process: by default one per core where a batch has several micro-shards to share, else none.</summary>
    public static EngineChoice InProcess(TrainingSettings settings, int? workers = null) =>
        (workers ?? (settings.Batches.BatchSize > settings.MicroShard ? Environment.ProcessorCount : 0)) switch
        {
            < 0 => throw new ArgumentOutOfRangeException(nameof(workers), $"workers must be 0 or more, not {workers}"),
            0 => new EngineChoice.PlainLoop(),
            var n => new EngineChoice.LocalActors(n),
        };

    /// <summary>
    /// Sets how many threads share one large matrix product, process-wide: <paramref name="threads"/>, or the
    /// cores each worker actor has to itself (all of them for the plain loop or a cluster node). The one place
    /// a training sets it; results do not depend on it.
    /// </summary>
    public static void UseThreads(EngineChoice choice, int? threads = null) =>
        Blas.Parallelism = threads ?? Math.Max(1, Environment.ProcessorCount / (choice is EngineChoice.LocalActors l ? Math.Max(1, l.Workers) : 1));

    public static ITrainingEngine Create(EngineChoice choice, TrainingSettings settings, Dataset data, CheckpointPolicy? checkpoint) => choice switch
    {
        EngineChoice.PlainLoop => new Trainer(settings, data, checkpoint),
        EngineChoice.LocalActors l => new LocalEngine(settings, data, l.Workers, checkpoint, l.Faults, resendAfter: l.ResendAfter, audit: l.Audit),
        EngineChoice.Cluster c => new ClusterEngine(c.System, settings, c.Job, c.MinWorkers, c.JoinTimeout, checkpoint, c.Tls, c.Audit, c.ResendAfter, c.SharedMemory),
        _ => throw new System.Diagnostics.UnreachableException(),
    };
}
