using DistributedBackprop.Core;

namespace DistributedBackprop.Data;

/// <summary>
/// Which examples each training step uses: epoch after epoch, a permutation of the data (or the data in
/// order) cut into consecutive batches, the last one possibly smaller. A pure function of (data size, batch
/// size, seed, step): the permutation of epoch e comes from a generator seeded by (seed, e), so a data cursor
/// is just the step number and resuming at step s reproduces exactly the batches an unbroken run would see.
/// </summary>
public sealed record Batches(int Examples, int BatchSize, bool Shuffle, int Seed)
{
    public int PerEpoch => (Examples + BatchSize - 1) / BatchSize;

    public (int Epoch, int Index) Cursor(long step) => ((int)(step / PerEpoch), (int)(step % PerEpoch));

    /// <summary>How many examples step <paramref name="step"/> uses (the last batch of an epoch may be smaller).</summary>
    public int SizeOf(long step) => Math.Min(BatchSize, Examples - Cursor(step).Index * BatchSize);

    /// <summary>The example indices of step <paramref name="step"/> (counting from 0).</summary>
    public int[] For(long step)
    {
        var (epoch, index) = Cursor(step);
        int start = index * BatchSize, count = Math.Min(BatchSize, Examples - start);
        var order = Order(epoch);
        return order.AsSpan(start, count).ToArray();
    }

    private int _cachedEpoch = -1;
    private int[]? _cachedOrder;

    private int[] Order(int epoch)
    {
        // Without shuffling every epoch has the same order: built once, not once an epoch (a full-batch
        // regression starts an epoch every step).
        if (_cachedOrder is not null && (_cachedEpoch == epoch || !Shuffle)) return _cachedOrder;
        var order = Shuffle ? Rng.For(Seed, $"order of epoch {epoch}").Permutation(Examples)
                            : Enumerable.Range(0, Examples).ToArray();
        (_cachedEpoch, _cachedOrder) = (epoch, order);
        return order;
    }

    /// <summary>
    /// Cuts a batch of <paramref name="count"/> examples into micro-shards of <paramref name="shardSize"/> by
    /// position in the batch — [0, s), [s, 2s), ... — whatever the number of workers: the unit of work whose
    /// gradient is the same bits wherever it is computed.
    /// </summary>
    public static (int Start, int Count)[] MicroShards(int count, int shardSize)
    {
        if (shardSize <= 0) throw new ArgumentOutOfRangeException(nameof(shardSize), "micro-shard size must be positive");
        var shards = new (int, int)[(count + shardSize - 1) / shardSize];
        for (int i = 0; i < shards.Length; i++) shards[i] = (i * shardSize, Math.Min(shardSize, count - i * shardSize));
        return shards;
    }
}
