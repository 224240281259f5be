namespace DistributedBackprop.Core;

/// <summary>
/// A seeded SplitMix64 generator. Ours rather than <see cref="Random"/> so that a seed gives the same numbers
/// on every runtime. Training draws from streams made afresh from (seed, purpose) — see <see cref="For(int, string)"/> —
/// so no generator's state needs saving: a step's numbers are a function of the seed and the step.
/// </summary>
public sealed class Rng(ulong state)
{
    /// <summary>Seeds go through SplitMix64's mixer, so seeds 0 and 1 give unrelated streams, not one stream shifted by a step.</summary>
    public Rng(int seed) : this(Mix(unchecked((ulong)seed + 0x9E3779B97F4A7C15UL))) { }

    /// <summary>An independent stream for one purpose ("data", "init", ...) of a run's seed.</summary>
    public static Rng For(int seed, string purpose)
    {
        ulong h = 14695981039346656037UL; // FNV-1a: stable across runs and runtimes, unlike string.GetHashCode
        foreach (char c in purpose) h = unchecked((h ^ c) * 1099511628211UL);
        return new Rng(Mix(unchecked((ulong)seed + 0x9E3779B97F4A7C15UL)) ^ Mix(h));
    }

    /// <summary>
    /// An independent stream for one purpose and two keys, e.g. a step and an example's index in the data set:
    /// a pure function of its arguments, so the same draw comes out wherever, and in whatever order, it is made.
    /// </summary>
    public static Rng For(int seed, string purpose, long key0, long key1)
    {
        ulong s = For(seed, purpose).State;
        s = Mix(s ^ Mix(unchecked((ulong)key0 + 0x9E3779B97F4A7C15UL)));
        return new Rng(Mix(s ^ Mix(unchecked((ulong)key1 + 0x3C6EF372FE94F82AUL)))); // 2·golden: the keys are not interchangeable
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The whole state: a generator started from it draws the same numbers from here on.</summary>
    public ulong State { get; private set; } = state;

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64() => Mix(State += 0x9E3779B97F4A7C15UL);

    /// <summary>Uniform in [0, 1), 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [lo, hi).</summary>
    public double Uniform(double lo, double hi) => lo + (hi - lo) * NextDouble();

    /// <summary>Uniform in [0, n), without modulo bias (Lemire's method).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), "n must be positive");
        uint limit = unchecked((uint)-n) % (uint)n; // 2^32 mod n
        while (true)
        {
            ulong m = (NextUInt64() >> 32) * (ulong)n;
            if ((uint)m >= limit) return (int)(m >> 32);
        }
    }

    /// <summary>Fisher–Yates, in place.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>0..n-1 in random order.</summary>
    public int[] Permutation(int n)
    {
        var p = Enumerable.Range(0, n).ToArray();
        Shuffle<int>(p);
        return p;
    }
}
