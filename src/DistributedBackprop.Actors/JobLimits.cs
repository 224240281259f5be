using System.Globalization;

namespace DistributedBackprop.Actors;

/// <summary>
/// What a training may ask for, checked before anything is allocated or sent: counts against fixed bounds,
/// the model against the memory it needs and, in a cluster, its messages against the largest frame a node
/// accepts. Each check is a pure function that returns a one-line reason, or null when the request fits.
/// </summary>
public static class JobLimits
{
    /// <summary>Worker actors in one process, or worker nodes to wait for: past a batch's micro-shards more only wait.</summary>
    public const int MaxWorkers = 256;
    public const int MaxLayers = 64, MaxWidth = 1 << 16;
    /// <summary>400 MB per copy of the parameters; a run holds several copies (gradients, optimizer state, each worker's).</summary>
    public const long MaxParameters = 100_000_000;
    public const long MaxSteps = 1_000_000_000;
    public const long MaxSamples = 10_000_000, MaxBatch = 1_000_000, MaxMicroShard = 1_000_000, MaxEpochs = 100_000;

    private static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
    private static string Bytes(double b) => b >= 1e9 ? $"{b / 1e9:0.0} GB" : b >= 1e6 ? $"{b / 1e6:0.0} MB" : $"{b / 1e3:0.0} kB";

    /// <summary>A count that must be from <paramref name="min"/> to <paramref name="max"/>.</summary>
    public static string? Count(string flag, long value, long max, long min = 1) =>
        value < min || value > max ? $"{flag} must be from {N(min)} to {N(max)}, not {N(value)}" : null;

    /// <summary>Weights and biases of an MLP with these layer widths (no overflow: each width is bounded first).</summary>
    public static long Parameters(int inputs, IReadOnlyList<int> hidden, int outputs)
    {
        long total = 0, previous = inputs;
        foreach (var width in hidden.Append(outputs))
        {
            total += previous * width + width;
            previous = width;
        }
        return total;
    }

    /// <summary>The hidden widths against the bounds, and the model's size against <see cref="MaxParameters"/>.</summary>
    public static string? Model(string flag, int inputs, IReadOnlyList<int> hidden, int outputs)
    {
        if (hidden.Count is 0 or > MaxLayers) return $"{flag}: from 1 to {MaxLayers} hidden layers, not {hidden.Count}";
        foreach (var width in hidden)
            if (width is < 1 or > MaxWidth) return $"{flag}: a layer width must be from 1 to {N(MaxWidth)}, not {N(width)}";
        long parameters = Parameters(inputs, hidden, outputs);
        return parameters > MaxParameters
            ? $"{flag} {string.Join(",", hidden)}: {N(parameters)} parameters, more than dbp trains ({N(MaxParameters)}, {Bytes(MaxParameters * 4.0)} a copy)"
            : null;
    }

    /// <summary>
    /// Bytes a training needs, estimated from what it keeps: the parameters, their gradient sums and the
    /// optimizer's step buffers (4 copies), the optimizer's state (4 per slot: kept, stepped and sent), and
    /// per worker actor its parameters, gradients and the messages in flight (5); each engine's activations
    /// and their gradients for one micro-shard; and the data. Measured here: a 9M-parameter regression
    /// peaked at 3.4, 11.5 and 19 copies (plain loop, 2 workers, 2 workers with Adam) where this says 4, 14 and 22.
    /// </summary>
    public static double MemoryNeeded(long parameters, int optimizerSlots, int workers, int shardRows, int inputs, IReadOnlyList<int> hidden, int outputs, long dataBytes)
    {
        double copies = 4 + 4.0 * optimizerSlots + 5.0 * workers;
        double activations = 4.0 * 4 * shardRows * (inputs + hidden.Sum(w => (double)w) + outputs) * Math.Max(1, workers);
        return parameters * 4.0 * copies + activations + dataBytes;
    }

    /// <summary>The estimate of <see cref="MemoryNeeded"/> against the memory this process may use.</summary>
    public static string? Memory(double needed, long available) =>
        needed > available
            ? $"this training needs about {Bytes(needed)} of memory, more than the {Bytes(available)} this process may use: use fewer or narrower layers, a smaller --micro-shard or fewer --workers"
            : null;

    /// <summary>
    /// In a cluster every gradient and parameter update carries the whole model, and a shard its example
    /// indices: each must fit in one frame, or Akka drops it (silently, with its default settings).
    /// </summary>
    public static string? Frame(long parameters, int tensors, int microShard, long frameSize)
    {
        const int envelope = 4096; // message headers, names, shapes and Akka's own envelope, generously
        double model = parameters * 4.0 + 64.0 * tensors + envelope;
        if (model > frameSize)
            return $"a gradient of this model is {Bytes(model)}, more than the largest message between nodes ({Bytes(frameSize)}, maximum-frame-size in hocon/cluster.hocon): use a smaller model";
        double shard = microShard * 5.0 + envelope;
        return shard > frameSize ? $"--micro-shard {N(microShard)}: a shard's example list is {Bytes(shard)}, more than the largest message between nodes ({Bytes(frameSize)})" : null;
    }
}
