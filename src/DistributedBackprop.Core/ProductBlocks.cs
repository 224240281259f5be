using System.Diagnostics;

namespace DistributedBackprop.Core;

/// <summary>
/// Runs the blocks of one large matrix product on the calling thread and helper threads, without allocating:
/// the training loop calls it a few times a step, each product a few hundred microseconds. Helpers start on
/// first use, spin briefly between products (the next one follows within microseconds), then sleep. One
/// product at a time: a caller that finds the helpers busy runs its blocks alone.
/// </summary>
internal static class ProductBlocks
{
    private static readonly Lock Gate = new();
    private static readonly SemaphoreSlim Wake = new(0);
    private static readonly long SpinTicks = Stopwatch.Frequency / 20_000; // 50 µs
    private static Thread[] _helpers = [];
    private static Blas.Product _product;
    private static int _blocks, _done, _sleeping, _wanted;

    // The product's generation (high 32 bits) and its next unclaimed block (low 32): a block is claimed by one
    // compare-and-swap that also proves the product is still the current one.
    private static long _ticket;

    public static void Run(in Blas.Product product, int parallelism)
    {
        if (parallelism <= 1 || !Gate.TryEnter())
        {
            for (int i = 0; i < product.Blocks; i++) product.Run(i);
            return;
        }
        try
        {
            EnsureHelpers(parallelism - 1);
            _wanted = parallelism - 1; // helpers started for a larger --threads sit this one out
            _product = product;
            _blocks = product.Blocks;
            _done = 0;
            long generation = (Volatile.Read(ref _ticket) >> 32) + 1;
            Interlocked.Exchange(ref _ticket, generation << 32); // publishes the fields above
            int sleeping = Volatile.Read(ref _sleeping);
            if (sleeping > 0) Wake.Release(Math.Min(sleeping, Math.Min(_wanted, product.Blocks - 1)));
            Work(generation);
            var spin = new SpinWait();
            while (Volatile.Read(ref _done) < product.Blocks) spin.SpinOnce(-1);
        }
        finally { Gate.Exit(); }
    }

    /// <summary>Claims and runs blocks of <paramref name="generation"/>'s product until none is left.</summary>
    private static void Work(long generation)
    {
        while (true)
        {
            long ticket = Volatile.Read(ref _ticket);
            int block = (int)ticket;
            if (ticket >> 32 != generation || block >= Volatile.Read(ref _blocks)) return;
            if (Interlocked.CompareExchange(ref _ticket, ticket + 1, ticket) != ticket) continue;
            _product.Run(block);
            Interlocked.Increment(ref _done);
        }
    }

    private static void EnsureHelpers(int count)
    {
        if (_helpers.Length >= count) return;
        var helpers = new Thread[count];
        _helpers.CopyTo(helpers, 0);
        for (int h = _helpers.Length; h < count; h++)
        {
            int index = h;
            (helpers[h] = new Thread(() => Helper(index)) { IsBackground = true, Name = $"dbp-gemm-{h + 1}" }).Start();
        }
        _helpers = helpers;
    }

    private static void Helper(int index)
    {
        long seen = Volatile.Read(ref _ticket) >> 32;
        while (true)
        {
            long deadline = Stopwatch.GetTimestamp() + SpinTicks;
            while (Generation() == seen && Stopwatch.GetTimestamp() < deadline) Thread.SpinWait(20);
            if (Generation() == seen)
            {
                // Counted as sleeping before the last look, so a product published after it is sure to wake us.
                Interlocked.Increment(ref _sleeping);
                if (Generation() == seen) Wake.Wait();
                Interlocked.Decrement(ref _sleeping);
                continue;
            }
            seen = Generation();
            if (index < Volatile.Read(ref _wanted)) Work(seen);
        }
    }

    private static long Generation() => Volatile.Read(ref _ticket) >> 32;
}
