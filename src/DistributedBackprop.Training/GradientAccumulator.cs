using DistributedBackprop.Core;
using DistributedBackprop.Nn;
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
    public int Shards => _shards;

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

    /// <summary>True when the loss and every gradient element are finite (a NaN or infinity makes its sum non-finite).</summary>
    public bool IsFinite => double.IsFinite(LossSum) && _sums.All(s => float.IsFinite(TP.Sum<float>(s)));

    /// <summary>The minibatch's mean gradient, as fresh tensors (the accumulator's buffers are reused for the next step).</summary>
    public Parameters<float> Mean()
    {
        var mean = new Parameters<float>(_names.Select((name, i) => (name, Tensor<float>.Zeros(_shapes[i]))));
        MeanInto(mean);
        return mean;
    }

    /// <summary>Writes the mean gradient into tensors the caller owns, in parameter order.</summary>
    public void MeanInto(Parameters<float> destination)
    {
        if (Count == 0) throw new InvalidOperationException("no examples were accumulated");
        for (int i = 0; i < _sums.Length; i++) TP.Divide(_sums[i], Count, destination[i].Value.Buffer);
    }

    public double MeanLoss => LossSum / Count;
}
