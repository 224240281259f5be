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

    /// <summary>
    /// How worker <paramref name="worker"/> (by index, as above) computes wrong from <paramref name="step"/> on
    /// — a bug, bad memory, a core that corrupts silently — or null for a worker that computes right.
    /// </summary>
    public virtual Corruption? Corrupts(int worker, long step) => null;
}

/// <summary>A worker's wrong arithmetic: every gradient element times <paramref name="Factor"/>, or bits flipped.</summary>
/// <param name="Factor">What every element is multiplied by (1: none).</param>
/// <param name="FlipBits">Flip the lowest mantissa bit of every 97th element: a wrong result no range check sees.</param>
public sealed record Corruption(float Factor, bool FlipBits)
{
    public void Apply(Span<float> values)
    {
        if (Factor != 1) System.Numerics.Tensors.TensorPrimitives.Multiply(values, Factor, values);
        if (FlipBits)
            for (int i = 0; i < values.Length; i += 97) values[i] = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(values[i]) ^ 1);
    }
}

/// <summary>
/// A <see cref="FaultPlan"/> at the coordinator's send boundary: it rewrites what <see cref="StepRules"/>
/// decided to send — dropping, doubling or delaying shards and gradients, and stopping a worker as a step's
/// shards go out — so that the rule itself knows nothing of faults. Remembers the workers in the order they
/// were first watched, which is how a plan names them.
/// </summary>
public sealed class FaultInjection<W>(FaultPlan plan) where W : notnull
{
    private readonly List<W> _started = [];

    public IEnumerable<StepSend<W>> Apply(IReadOnlyList<StepSend<W>> sends)
    {
        if (ReferenceEquals(plan, FaultPlan.None)) return sends;
        var result = new List<StepSend<W>>(sends.Count);
        long? begun = null;
        foreach (var send in sends)
        {
            switch (send)
            {
                case StepSend<W>.Watch w when !_started.Contains(w.Worker): _started.Add(w.Worker); result.Add(send); break;
                case StepSend<W>.ToServer { Message: BeginStep b }: begun = b.Step; result.Add(send); break;
                case StepSend<W>.Compute c: Inject(plan.OnShard(c.Shard.Step, c.Shard.Shard, c.Attempt), send, result); break;
                case StepSend<W>.Pass p: Inject(plan.OnGradient(p.Gradient.Step, p.Gradient.Shard, p.Attempt), send, result); break;
                default: result.Add(send); break;
            }
        }
        if (begun is long step && plan.StopWorkerAt(step) is int k && k >= 0 && k < _started.Count) result.Add(new StepSend<W>.Stop(_started[k]));
        return result;
    }

    private static void Inject(Fault fault, StepSend<W> send, List<StepSend<W>> result)
    {
        switch (fault)
        {
            case Fault.Drop: break;
            case Fault.Delay d: result.Add(new StepSend<W>.Later(d.By, send)); break;
            case Fault.Duplicate: result.Add(send); result.Add(send); break;
            default: result.Add(send); break;
        }
    }
}
