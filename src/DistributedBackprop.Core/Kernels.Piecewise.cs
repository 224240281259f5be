using System.Numerics;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace DistributedBackprop.Core;

// The piecewise-linear ops' kernels. Comparisons and one multiply are exact lane by lane, so the vector
// loops and their scalar tails give the same bits.

internal readonly struct MaxKernel<T> : IBinaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    // TensorPrimitives.Max propagates NaN, as torch.maximum does.
    public static void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) => TP.Max(a, b, d);
    public static void Run(ReadOnlySpan<T> a, T b, Span<T> d) => TP.Max(a, b, d);
    public static void Run(T a, ReadOnlySpan<T> b, Span<T> d) => TP.Max(b, a, d);
}

internal readonly struct MinKernel<T> : IBinaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) => TP.Min(a, b, d);
    public static void Run(ReadOnlySpan<T> a, T b, Span<T> d) => TP.Min(a, b, d);
    public static void Run(T a, ReadOnlySpan<T> b, Span<T> d) => TP.Min(b, a, d);
}

/// <summary>0 where a &lt; b, ½ where a = b, else 1 (a NaN on either side gives 1): PyTorch's share of max(a, b)'s gradient for a.</summary>
internal readonly struct HeavisideKernel<T> : IBinaryKernel<T>, IVectorMap2<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static Vector<T> Apply(Vector<T> a, Vector<T> b) =>
        Vector.ConditionalSelect(Vector.LessThan(a, b), Vector<T>.Zero,
            Vector.ConditionalSelect(Vector.Equals(a, b), new Vector<T>(T.CreateChecked(0.5)), Vector<T>.One));

    public static void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) => Lanes.Map<T, HeavisideKernel<T>>(a, b, d);
    public static void Run(ReadOnlySpan<T> a, T b, Span<T> d) => Lanes.Map<T, HeavisideKernel<T>>(a, new ReadOnlySpan<T>(in b), d);
    public static void Run(T a, ReadOnlySpan<T> b, Span<T> d) => Lanes.Map<T, HeavisideKernel<T>>(new ReadOnlySpan<T>(in a), b, d);
}

internal static class Piecewise
{
    /// <summary>-1, 0 or 1 (a zero keeps its sign, NaN stays NaN).</summary>
    public static void Sign<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Same(x, y);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
            for (; i <= y.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var v = new Vector<T>(x[i..]);
                Vector.ConditionalSelect(Vector.GreaterThan(v, Vector<T>.Zero), Vector<T>.One,
                    Vector.ConditionalSelect(Vector.LessThan(v, Vector<T>.Zero), -Vector<T>.One, v)).CopyTo(y[i..]);
            }
        for (; i < y.Length; i++) y[i] = x[i] > T.Zero ? T.One : x[i] < T.Zero ? -T.One : x[i];
    }

    /// <summary>x where x &gt; 0, else slope x (PyTorch's leaky_relu; NaN stays NaN).</summary>
    public static void LeakyRelu<T>(ReadOnlySpan<T> x, T slope, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Same(x, y);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
            for (; i <= y.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var v = new Vector<T>(x[i..]);
                Vector.ConditionalSelect(Vector.GreaterThan(v, Vector<T>.Zero), v, v * slope).CopyTo(y[i..]);
            }
        for (; i < y.Length; i++) y[i] = x[i] > T.Zero ? x[i] : x[i] * slope;
    }

    /// <summary>g where x &gt; 0, else slope g: at 0 the slope, as PyTorch.</summary>
    public static void LeakyReluGrad<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, T slope, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Same(g, d);
        Same(x, d);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
            for (; i <= d.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var vg = new Vector<T>(g[i..]);
                Vector.ConditionalSelect(Vector.GreaterThan(new Vector<T>(x[i..]), Vector<T>.Zero), vg, vg * slope).CopyTo(d[i..]);
            }
        for (; i < d.Length; i++) d[i] = x[i] > T.Zero ? g[i] : g[i] * slope;
    }

    private static void Same<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b)
    {
        if (a.Length != b.Length) throw new ShapeException($"an element-wise kernel needs equal shapes, got {a.Length} and {b.Length} elements");
    }
}
