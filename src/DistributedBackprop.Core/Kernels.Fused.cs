using System.Numerics;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace DistributedBackprop.Core;

/// <summary>
/// Backward rules of the activations in one pass over memory, with <see cref="Vector{T}"/>. Operands have the
/// same shape (a gradient and the value it flows into), which <see cref="Op.Binary"/>'s shape rule checks.
/// </summary>
internal static class Fused
{
    public static void TanhGrad<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> y, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Same(g, y, d);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
            for (; i <= d.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var vy = new Vector<T>(y[i..]);
                (new Vector<T>(g[i..]) * (Vector<T>.One - vy * vy)).CopyTo(d[i..]);
            }
        for (; i < d.Length; i++) d[i] = g[i] * (T.One - y[i] * y[i]);
    }

    public static void SigmoidGrad<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> s, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Same(g, s, d);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
            for (; i <= d.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var vs = new Vector<T>(s[i..]);
                (new Vector<T>(g[i..]) * (vs * (Vector<T>.One - vs))).CopyTo(d[i..]);
            }
        for (; i < d.Length; i++) d[i] = g[i] * (s[i] * (T.One - s[i]));
    }

    public static void ReluGrad<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Same(g, x, d);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
            for (; i <= d.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var positive = Vector.GreaterThan(new Vector<T>(x[i..]), Vector<T>.Zero);
                Vector.ConditionalSelect(positive, new Vector<T>(g[i..]), Vector<T>.Zero).CopyTo(d[i..]);
            }
        for (; i < d.Length; i++) d[i] = x[i] > T.Zero ? g[i] : T.Zero;
    }

    private static void Same<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d)
    {
        if (a.Length != d.Length || b.Length != d.Length)
            throw new ShapeException($"a fused backward rule needs equal shapes, got {a.Length}, {b.Length} and {d.Length} elements");
    }
}

/// <summary>
/// tanh and sigmoid in float through the vectorised exp: System.Numerics.Tensors' own float tanh measured
/// about four times slower than these passes here, and the regression spends most of its forward pass in
/// it. Absolute error stays within a few float ulps of 1; double (gradient checks) keeps the library's.
/// </summary>
internal static class Activations
{
    public static void Tanh<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) != typeof(float)) { TP.Tanh(x, y); return; }
        // tanh(x) = 1 - 2 / (exp(2x) + 1): exact limits ±1 where exp overflows or underflows.
        TP.Multiply(x, T.CreateChecked(2), y);
        TP.Exp<T>(y, y);
        TP.Add(y, T.One, y);
        TP.Divide(T.CreateChecked(2), y, y);
        TP.Subtract(T.One, y, y);
    }

    public static void Sigmoid<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) != typeof(float)) { TP.Sigmoid<T>(x, y); return; }
        // 1 / (1 + exp(-x)), 0 and 1 in the limits.
        TP.Negate<T>(x, y);
        TP.Exp<T>(y, y);
        TP.Add(y, T.One, y);
        TP.Divide(T.One, y, y);
    }
}
