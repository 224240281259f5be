using System.Collections.Concurrent;

namespace DistributedBackprop.Training;

/// <summary>
/// Buffers for one gradient of a model — an array per parameter, of its exact size — handed out and taken
/// back, so that a step in the steady state allocates none (a Fashion-MNIST gradient is 814 kB). Shared by
/// the workers and the server of one process: a worker rents the buffers its gradient goes out in, the server
/// returns them once it has added them up. Keeps at most <paramref name="capacity"/> free gradients: a server
/// whose gradients arrive over the wire returns more than anyone rents. Safe from any thread.
/// </summary>
public sealed class GradientPool(IReadOnlyList<int> sizes, int capacity = 16)
{
    private readonly ConcurrentBag<float[][]> _free = [];

    /// <summary>A pool for the gradients of this objective's model.</summary>
    public static GradientPool For(Objective objective) => new(objective.Model.Parameters.Select(p => Core.Shapes.Size(p.Shape)).ToArray());

    public IReadOnlyList<int> Sizes => sizes;

    public float[][] Rent() => _free.TryTake(out var buffers) ? buffers : sizes.Select(n => new float[n]).ToArray();

    /// <summary>Takes buffers back; they must be this pool's shape and no longer read by anyone.</summary>
    public void Return(float[][] buffers)
    {
        if (buffers.Length != sizes.Count) throw new ArgumentException($"a gradient of {buffers.Length} parameters; this pool's have {sizes.Count}");
        for (int i = 0; i < buffers.Length; i++)
            if (buffers[i].Length != sizes[i]) throw new ArgumentException($"parameter {i}: {buffers[i].Length} elements; this pool's have {sizes[i]}");
        if (_free.Count < capacity) _free.Add(buffers);
    }
}
