using DistributedBackprop.Core;
using DistributedBackprop.Nn;
using System.Runtime.Intrinsics;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace DistributedBackprop.Training;

/// <summary>
/// Sums micro-shards' gradient sums in shard order, then divides once by the example count: the one place
/// where a minibatch's gradient is formed, used by the single-process loop and the parameter server alike,
/// so that both produce the same bits however the shards were spread over workers.
/// </summary>
public sealed class GradientAccumulator
{
    private readonly string[] _names;
    private readonly float[][] _sums;
    private readonly int[][] _shapes;
    private int _shards;

    public GradientAccumulator(IEnumerable<(string Name, int[] Shape)> parameters)
    {
        var list = parameters.ToList();
        _names = list.Select(p => p.Name).ToArray();
        _shapes = list.Select(p => p.Shape).ToArray();
        _sums = list.Select(p => new float[Shapes.Size(p.Shape)]).ToArray();
    }

    public int Count { get; private set; }
    public double LossSum { get; private set; }

    public void Reset()
    {
        _shards = 0;
        Count = 0;
        LossSum = 0;
    }

    /// <summary>Adds the next shard, in shard order: <paramref name="gradient"/>(i) is parameter i's gradient sum.</summary>
    public void Add(Func<int, ReadOnlySpan<float>> gradient, double lossSum, int count)
    {
        for (int i = 0; i < _sums.Length; i++)
        {
            var g = gradient(i);
            if (g.Length != _sums[i].Length) throw new ArgumentException($"gradient of {_names[i]} has {g.Length} elements, expected {_sums[i].Length}");
            if (_shards == 0) g.CopyTo(_sums[i]);
            else TP.Add(_sums[i], g, _sums[i]);
        }
        LossSum += lossSum;
        Count += count;
        _shards++;
    }

    /// <summary>
    /// The mean of a batch that is one micro-shard, straight from that shard's gradients: the same bits as
    /// <see cref="Add"/> then <see cref="MeanInto"/> (a copy, then a division), in one pass instead of two.
    /// Returns false, writing nothing usable, when the loss or a gradient is not finite.
    /// </summary>
    public bool SingleShardMeanInto(Func<int, ReadOnlySpan<float>> gradient, double lossSum, int count, Parameters<float> destination)
    {
        Reset();
        LossSum = lossSum;
        Count = count;
        _shards = 1;
        bool finite = double.IsFinite(lossSum);
        for (int i = 0; i < _sums.Length; i++) finite &= DivideAndCheck(gradient(i), count, destination[i].Value.Buffer);
        return finite;
    }

    /// <summary>
    /// The minibatch's mean gradient, divided in place over the accumulator's own buffers and handed over
    /// with them (the accumulator is spent: a parameter server makes one per step); null when not finite.
    /// </summary>
    public Parameters<float>? TakeMean()
    {
        var mean = new Parameters<float>(_names.Select((name, i) => (name, new Tensor<float>(_sums[i], _shapes[i]))));
        return MeanInto(mean) ? mean : null;
    }

    /// <summary>
    /// Writes the mean gradient into tensors the caller owns, in parameter order; false when the loss or a
    /// gradient is not finite (a NaN or infinity makes the sum of the mean non-finite).
    /// </summary>
    public bool MeanInto(Parameters<float> destination)
    {
        if (Count == 0) throw new InvalidOperationException("no examples were accumulated");
        bool finite = double.IsFinite(LossSum);
        for (int i = 0; i < _sums.Length; i++) finite &= DivideAndCheck(_sums[i], Count, destination[i].Value.Buffer);
        return finite;
    }

    public double MeanLoss => LossSum / Count;

    /// <summary>
    /// mean = sum / count, element by element (exactly as a plain division: IEEE division rounds the same in
    /// a vector as alone), and in the same pass over memory whether every element is finite.
    /// </summary>
    private static bool DivideAndCheck(ReadOnlySpan<float> sum, int count, Span<float> mean)
    {
        float n = count;
        var check = Vector256<float>.Zero;
        int i = 0;
        for (; i <= sum.Length - Vector256<float>.Count; i += Vector256<float>.Count)
        {
            var m = Vector256.Create(sum.Slice(i, Vector256<float>.Count)) / n;
            m.CopyTo(mean.Slice(i, Vector256<float>.Count));
            check += m * Vector256<float>.Zero; // 0 for finite values, NaN for NaN and infinity
        }
        float tail = 0;
        for (; i < sum.Length; i++) { mean[i] = sum[i] / n; tail += mean[i] * 0f; }
        return !float.IsNaN(Vector256.Sum(check) + tail);
    }
}
