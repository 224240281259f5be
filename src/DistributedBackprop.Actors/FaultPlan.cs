namespace DistributedBackprop.Actors;

/// <summary>What happens to one message on its way: delivered, dropped, delayed, or delivered twice.</summary>
public abstract record Fault
{
    public static readonly Fault None = new Deliver();
    public sealed record Deliver : Fault;
    public sealed record Drop : Fault;
    public sealed record Delay(TimeSpan By) : Fault;
    public sealed record Duplicate : Fault;
}

/// <summary>
/// Faults to inject into an in-process training run, for testing a set-up against failure: which worker to
/// stop at which step, and what to do to each shard sent to a worker and each gradient sent back. The
/// default injects nothing. Decisions must be pure functions of their arguments so that a run is repeatable.
/// </summary>
public class FaultPlan
{
    public static readonly FaultPlan None = new();

    /// <summary>Stop this worker (by index in the order they were started) as this step's shards go out.</summary>
    public virtual int? StopWorkerAt(long step) => null;

    /// <summary>The fate of micro-shard <paramref name="shard"/> of <paramref name="step"/> on its <paramref name="attempt"/>-th sending (from 0).</summary>
    public virtual Fault OnShard(long step, int shard, int attempt) => Fault.None;

    /// <summary>The fate of the gradient computed for that shard, on its way back.</summary>
    public virtual Fault OnGradient(long step, int shard, int attempt) => Fault.None;
}
