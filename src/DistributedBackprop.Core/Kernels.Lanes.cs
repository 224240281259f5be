using System.Numerics;
using System.Runtime.InteropServices;

namespace DistributedBackprop.Core;

/// <summary>A function of one vector, lane by lane.</summary>
internal interface IVectorMap<T> where T : unmanaged
{
    static abstract Vector<T> Apply(Vector<T> x);
}

/// <summary>A function of two vectors, lane by lane.</summary>
internal interface IVectorMap2<T> where T : unmanaged
{
    static abstract Vector<T> Apply(Vector<T> a, Vector<T> b);
}

/// <summary>
/// Maps spans a vector at a time, the last partial vector through zero-padded copies, so that every element
/// goes through the same vector code whatever its position: the rule for functions computed by polynomials,
/// whose scalar form would round differently. The output may be an input.
/// </summary>
internal static class Lanes
{
    public static void Map<T, TMap>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged where TMap : struct, IVectorMap<T>
    {
        if (x.Length != y.Length) throw new ShapeException($"an element-wise map takes {x.Length} elements into {y.Length}");
        ref T rx = ref MemoryMarshal.GetReference(x), ry = ref MemoryMarshal.GetReference(y);
        int w = Vector<T>.Count, i = 0;
        for (; i + 4 * w <= x.Length; i += 4 * w)
        {
            var v0 = TMap.Apply(Vector.LoadUnsafe(ref rx, (nuint)i));
            var v1 = TMap.Apply(Vector.LoadUnsafe(ref rx, (nuint)(i + w)));
            var v2 = TMap.Apply(Vector.LoadUnsafe(ref rx, (nuint)(i + 2 * w)));
            var v3 = TMap.Apply(Vector.LoadUnsafe(ref rx, (nuint)(i + 3 * w)));
            v0.StoreUnsafe(ref ry, (nuint)i); v1.StoreUnsafe(ref ry, (nuint)(i + w)); v2.StoreUnsafe(ref ry, (nuint)(i + 2 * w)); v3.StoreUnsafe(ref ry, (nuint)(i + 3 * w));
        }
        for (; i + w <= x.Length; i += w) TMap.Apply(Vector.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
        if (i == x.Length) return;
        Span<T> tail = stackalloc T[w];
        tail.Clear();
        x[i..].CopyTo(tail);
        TMap.Apply(new Vector<T>(tail)).CopyTo(tail);
        tail[..(x.Length - i)].CopyTo(y[i..]);
    }

    /// <summary>d = f(a, b); an operand of one element is broadcast (the scalar forms of a broadcasting kernel).</summary>
    public static void Map<T, TMap>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged where TMap : struct, IVectorMap2<T>
    {
        bool oneA = a.Length == 1 && d.Length != 1, oneB = b.Length == 1 && d.Length != 1;
        if ((!oneA && a.Length != d.Length) || (!oneB && b.Length != d.Length))
            throw new ShapeException($"an element-wise map takes {a.Length} and {b.Length} elements into {d.Length}");
        int w = Vector<T>.Count, i = 0;
        Vector<T> va = oneA ? new Vector<T>(a[0]) : default, vb = oneB ? new Vector<T>(b[0]) : default;
        for (; i + w <= d.Length; i += w)
            TMap.Apply(oneA ? va : new Vector<T>(a[i..]), oneB ? vb : new Vector<T>(b[i..])).CopyTo(d[i..]);
        if (i == d.Length) return;
        Span<T> tailA = stackalloc T[w], tailB = stackalloc T[w];
        tailA.Clear();
        tailB.Clear();
        if (!oneA) a[i..].CopyTo(tailA);
        if (!oneB) b[i..].CopyTo(tailB);
        TMap.Apply(oneA ? va : new Vector<T>(tailA), oneB ? vb : new Vector<T>(tailB)).CopyTo(tailA);
        tailA[..(d.Length - i)].CopyTo(d[i..]);
    }
}
