using DistributedBackprop.Core;
using DistributedBackprop.Data;
using DistributedBackprop.Nn;

namespace DistributedBackprop.Training;

/// <summary>
/// The single-process training loop: each step's batch is cut into micro-shards, their gradient sums are
/// added along the <see cref="ShardTree"/>, and the optimizer steps with the sums and the batch size — the
/// same arithmetic, in the same order, as the distributed trainer, so both end with the same parameters.
/// </summary>
public sealed class Trainer : ITrainingEngine
{
    private readonly TrainingSettings _settings;
    private readonly Dataset _data;
    private readonly ShardGradient _shard;
    private readonly TreeSum _tree;
    private readonly Dictionary<int, (float[] X, float[] Y)> _buffers = [];

    private readonly CheckpointPolicy? _checkpoint;
    private readonly Func<int, ReadOnlySpan<float>> _gradient; // made once: a method group allocates a delegate per use

    public Trainer(TrainingSettings settings, Dataset data, CheckpointPolicy? checkpoint = null)
    {
        _checkpoint = checkpoint;
        _settings = settings;
        _data = data;
        _shard = new ShardGradient(settings.Objective);
        _gradient = _shard.Gradient;
        _sum = i => _sums[i];
        _tree = new TreeSum(GradientPool.For(settings.Objective));
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
            var (sums, count, loss, buffers) = GradientSums(past?.Before(step, state.Step, parameters) ?? parameters, _settings.Batches.For(step), step);
            // A non-finite step leaves these buffers half-written; they are this run's own, and it ends here.
            optimizer = (double.IsFinite(loss) ? _settings.Optimizer.StepInPlace(parameters, sums, count, optimizer) : null)
                ?? throw new TrainingDivergedException(step, "the loss or gradient is not finite (NaN or infinity); nothing was applied");
            if (buffers is not null) _tree.Pool.Return(buffers);
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
    /// The batch's gradient sums, added up over its micro-shards along the tree, with the example count, the
    /// summed loss and the pooled buffers that hold them (to give back after the step). A batch of one
    /// micro-shard hands over the plan's own gradients: the same bits as the tree of one leaf, without the copy.
    /// </summary>
    private (Func<int, ReadOnlySpan<float>> Sums, int Count, double LossSum, float[][]? Buffers) GradientSums(Parameters<float> parameters, int[] batch, long step)
    {
        var shards = Batches.MicroShards(batch.Length, _settings.MicroShard);
        for (int i = 0; i < shards.Length; i++)
        {
            var (start, count) = shards[i];
            var (x, y) = Buffers(count);
            _data.Gather(batch.AsSpan(start, count), x, y);
            double lossSum = _shard.Run(parameters, new Tensor<float>(x, [count, .. _data.InputShape]), new Tensor<float>(y, [count, .. _data.TargetShape]), batch.AsSpan(start, count), step);
            if (shards.Length == 1) return (_gradient, count, lossSum, null);
            _tree.Add(new ShardNode(i, 1), _gradient, lossSum, count);
        }
        var (sum, _, loss, examples) = _tree.Finish();
        _sums = sum;
        return (_sum, examples, loss, sum);
    }

    // The last step's summed buffers, read through one delegate made once (a lambda per step would allocate).
    private float[][] _sums = [];
    private readonly Func<int, ReadOnlySpan<float>> _sum;

    private (float[] X, float[] Y) Buffers(int count)
    {
        if (!_buffers.TryGetValue(count, out var b))
            _buffers[count] = b = (new float[count * _data.InputSize], new float[count * _data.TargetSize]);
        return b;
    }
}
