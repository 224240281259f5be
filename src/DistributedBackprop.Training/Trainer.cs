using DistributedBackprop.Core;
using DistributedBackprop.Data;
using DistributedBackprop.Nn;

namespace DistributedBackprop.Training;

/// <summary>
/// The single-process training loop: each step's batch is cut into micro-shards, their gradient sums are
/// added along the <see cref="ShardTree"/>, and the optimizer steps with the sums and the batch size — the
/// same arithmetic, in the same order, as the distributed trainer, so both end with the same parameters.
/// </summary>
public sealed class Trainer : ITrainingEngine, ILeafSource
{
    private readonly TrainingSettings _settings;
    private readonly Dataset _data;
    private readonly LeafSum _leaves;
    private readonly Dictionary<int, (float[] X, float[] Y)> _buffers = [];

    private readonly CheckpointPolicy? _checkpoint;

    public Trainer(TrainingSettings settings, Dataset data, CheckpointPolicy? checkpoint = null)
    {
        _checkpoint = checkpoint;
        _settings = settings;
        _data = data;
        _leftSum = i => _left![i];
        _rightSum = i => _right![i];
        _leaves = new LeafSum(settings.Objective, GradientPool.For(settings.Objective));
    }

    public int Workers => 0;

    /// <summary>The loop steps its own copies of the parameters in place, so a step allocates next to nothing.</summary>
    public TrainingState Run(TrainingState state, long until, Action<StepLog>? onStep = null)
    {
        var parameters = state.Parameters.Copy();
        var optimizer = new OptimizerState<float>(state.Optimizer.Step, state.Optimizer.Slots.Copy());
        var past = Past(parameters);
        for (long step = state.Step; step < until; step++)
        {
            var (sums, addends, count, loss) = GradientSums(past?.Before(step, state.Step, parameters) ?? parameters, _settings.Batches.For(step), step);
            // A non-finite step leaves these buffers half-written; they are this run's own, and it ends here.
            optimizer = (double.IsFinite(loss) ? _settings.Optimizer.StepInPlace(parameters, sums, count, optimizer, addends) : null)
                ?? throw new TrainingDivergedException(step, "the loss or gradient is not finite (NaN or infinity); nothing was applied");
            if (_left is not null) _leaves.Tree.Pool.Return(_left);
            if (_right is not null) _leaves.Tree.Pool.Return(_right);
            (_left, _right) = (null, null);
            if (_checkpoint?.Due(step + 1, until) == true) _checkpoint.Save(_settings, new TrainingState(parameters, optimizer, step + 1));
            onStep?.Invoke(new StepLog(step, _settings.Batches.Cursor(step).Epoch, loss / count));
        }
        return new TrainingState(parameters, optimizer, Math.Max(until, state.Step));
    }

    /// <summary>With staleness S, copies of the parameters from before each of the last S + 1 steps, in a ring.</summary>
    private sealed class PastParameters(Parameters<float>[] ring)
    {
        /// <summary>The parameters step <paramref name="step"/> is computed with: those from before step - S (or the first step), once the current ones are copied in.</summary>
        public Parameters<float> Before(long step, long first, Parameters<float> current)
        {
            var slot = ring[(int)(step % ring.Length)];
            for (int i = 0; i < slot.Count; i++) current[i].Value.Data.CopyTo(slot[i].Value.Buffer);
            return ring[(int)(Math.Max(first, step - (ring.Length - 1)) % ring.Length)];
        }
    }

    private PastParameters? Past(Parameters<float> parameters) => _settings.Staleness == 0 ? null
        : new([.. Enumerable.Range(0, _settings.Staleness + 1).Select(_ => parameters.Copy())]);

    /// <summary>
    /// The batch's gradient sums, added up over its micro-shards along the tree but for the root's own
    /// addition, which the optimizer makes as it reads them (<see cref="TreeSum.FinishPair"/>): the root's
    /// children and the example count and summed loss; the pooled buffers go back after the step
    /// (<see cref="_left"/>, <see cref="_right"/>). A batch of one micro-shard hands over the plan's own
    /// gradients: the same bits as the tree of one leaf, without the copy.
    /// </summary>
    private (Func<int, ReadOnlySpan<float>> Sums, Func<int, ReadOnlySpan<float>>? Addends, int Count, double LossSum) GradientSums(Parameters<float> parameters, int[] batch, long step)
    {
        (_parameters, _batch, _step, _cuts) = (parameters, batch, step, Batches.MicroShards(batch.Length, _settings.MicroShard));
        if (_cuts.Length == 1)
        {
            var (lossSum, count) = ((ILeafSource)this).Run(_leaves.First, 0);
            return (_leaves.FirstGradient, null, count, lossSum);
        }
        _leaves.Add(this, 0, _cuts.Length);
        (_left, _right, _, var loss, var examples) = _leaves.Tree.FinishPair();
        return (_leftSum, _right is null ? null : _rightSum, examples, loss);
    }

    // The step GradientSums is running, for Run: fields, not a closure, which would allocate every step.
    private Parameters<float> _parameters = null!;
    private int[] _batch = [];
    private long _step;
    private (int Start, int Count)[] _cuts = [];

    /// <summary>Micro-shard <paramref name="leaf"/> of the step's batch, gathered into this loop's buffers and run on <paramref name="plan"/>.</summary>
    (double LossSum, int Examples) ILeafSource.Run(ShardGradient plan, int leaf)
    {
        var (start, count) = _cuts[leaf];
        var (x, y) = Buffers(count);
        _data.Gather(_batch.AsSpan(start, count), x, y);
        return (plan.Run(_parameters, new Tensor<float>(x, [count, .. _data.InputShape]), new Tensor<float>(y, [count, .. _data.TargetShape]), _batch.AsSpan(start, count), _step), count);
    }

    // The last step's two halves of the sum, read through delegates made once (a lambda per step would allocate).
    private float[][]? _left, _right;
    private readonly Func<int, ReadOnlySpan<float>> _leftSum, _rightSum;

    private (float[] X, float[] Y) Buffers(int count)
    {
        if (!_buffers.TryGetValue(count, out var b))
            _buffers[count] = b = (new float[count * _data.InputSize], new float[count * _data.TargetSize]);
        return b;
    }
}
