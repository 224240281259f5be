using DistributedBackprop.Core;
using DistributedBackprop.Nn;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace DistributedBackprop.Training;

/// <summary>
/// Sums micro-shards' gradient sums in shard order: the one place where a minibatch's gradient is formed,
/// used by the single-process loop and the parameter server alike, so that both produce the same bits
/// however the shards were spread over workers. The optimizer takes the sums and the example count, scales
/// by 1/count as it reads them and checks that they are finite; the mean is never written out.
/// </summary>
public sealed class GradientAccumulator
{
    private readonly string[] _names;
    private readonly float[][] _sums;
    private int _shards;

    public GradientAccumulator(IEnumerable<(string Name, int[] Shape)> parameters)
    {
        var list = parameters.ToList();
        _names = list.Select(p => p.Name).ToArray();
        _sums = list.Select(p => new float[Shapes.Size(p.Shape)]).ToArray();
        Sum = i => _sums[i];
    }

    public int Count { get; private set; }
    public double LossSum { get; private set; }
    public double MeanLoss => LossSum / Count;

    /// <summary>Parameter i's gradient summed over the shards so far (made once: a method group allocates a delegate per use).</summary>
    public Func<int, ReadOnlySpan<float>> Sum { get; }

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
}
