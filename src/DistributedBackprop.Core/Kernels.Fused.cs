using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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
/// tanh and sigmoid in float through the vectorised exp, in one pass: System.Numerics.Tensors' own float tanh
/// measured about four times slower here, and the regression spends most of its forward pass in it. Absolute
/// error stays within a few float ulps of 1; double (gradient checks) keeps the library's.
/// </summary>
internal static class Activations
{
    public static void Tanh<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) != typeof(float)) { TP.Tanh(x, y); return; }
        if (Vector512.IsHardwareAccelerated) { Tanh512(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(y)); return; }
        Lanes.Map<float, TanhOf>(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(y));
    }

    public static void Sigmoid<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) != typeof(float)) { TP.Sigmoid<T>(x, y); return; }
        Lanes.Map<float, SigmoidOf>(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(y));
    }

    /// <summary>tanh(x) = 1 - 2 / (exp(2x) + 1): exact limits ±1 where exp overflows or underflows.</summary>
    internal readonly struct TanhOf : IVectorMap<float>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector<float> Apply(Vector<float> x) => Vector<float>.One - new Vector<float>(2f) / (Exp(x * 2f) + Vector<float>.One);
    }

    /// <summary>
    /// <see cref="TanhOf"/> sixteen lanes at a time, the last partial vector through a zero-padded copy: the same
    /// operations lane by lane, so the same bits (the regression's tanh, 200×32 a layer, is a quarter of its step).
    /// </summary>
    private static void Tanh512(ReadOnlySpan<float> x, Span<float> y)
    {
        if (x.Length != y.Length) throw new ShapeException($"an element-wise map takes {x.Length} elements into {y.Length}");
        ref float rx = ref MemoryMarshal.GetReference(x), ry = ref MemoryMarshal.GetReference(y);
        int i = 0;
        for (; i + 32 <= x.Length; i += 32)
        {
            var v0 = Tanh(Vector512.LoadUnsafe(ref rx, (nuint)i));
            var v1 = Tanh(Vector512.LoadUnsafe(ref rx, (nuint)(i + 16)));
            v0.StoreUnsafe(ref ry, (nuint)i);
            v1.StoreUnsafe(ref ry, (nuint)(i + 16));
        }
        for (; i + 16 <= x.Length; i += 16) Tanh(Vector512.LoadUnsafe(ref rx, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
        if (i == x.Length) return;
        Span<float> tail = stackalloc float[16];
        tail.Clear();
        x[i..].CopyTo(tail);
        Tanh(Vector512.Create<float>(tail)).CopyTo(tail);
        tail[..(x.Length - i)].CopyTo(y[i..]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Tanh(Vector512<float> x) => Vector512<float>.One - Vector512.Create(2f) / (Exp(x * 2f) + Vector512<float>.One);

    /// <summary><see cref="Exp(Vector{float})"/> in sixteen lanes: the same operations in the same order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Exp(Vector512<float> x)
    {
        var clamped = Vector512.MinNative(Vector512.MaxNative(x, Vector512.Create(-87.3f)), Vector512.Create(88.3f));
        var n = Vector512.Floor(clamped * 1.44269504088896341f + Vector512.Create(0.5f));
        var r = clamped - n * 0.693359375f + n * 2.12194440e-4f;
        var p = Vector512.Create(1.9875691500e-4f);
        p = p * r + Vector512.Create(1.3981999507e-3f);
        p = p * r + Vector512.Create(8.3334519073e-3f);
        p = p * r + Vector512.Create(4.1665795894e-2f);
        p = p * r + Vector512.Create(1.6666665459e-1f);
        p = p * r + Vector512.Create(5.0000001201e-1f);
        p = p * (r * r) + r + Vector512<float>.One;
        var scale = Vector512.ShiftLeft(Vector512.ConvertToInt32Native(n) + Vector512.Create(127), 23).AsSingle();
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), p * scale, x);
    }

    /// <summary>1 / (1 + exp(-x)), 0 and 1 in the limits.</summary>
    private readonly struct SigmoidOf : IVectorMap<float>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector<float> Apply(Vector<float> x) => Vector<float>.One / (Exp(-x) + Vector<float>.One);
    }

    /// <summary>
    /// exp in float to about 2 ulps (Cephes' expf): x = n ln 2 + r with |r| ≤ ln 2 / 2, a degree-7 polynomial
    /// for exp(r), 2ⁿ put straight into the exponent bits. The library's vector exp works in double and
    /// took twice as long. Inputs are clamped to [-87.3, 88.3] (results within float's normal range; the
    /// activations only need their limits), NaN stays NaN. No fused multiply-add: the same bits on any CPU.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector<float> Exp(Vector<float> x)
    {
        var clamped = Vector.MinNative(Vector.MaxNative(x, new Vector<float>(-87.3f)), new Vector<float>(88.3f)); // NaN: restored below
        var n = Vector.Floor(clamped * 1.44269504088896341f + new Vector<float>(0.5f));
        var r = clamped - n * 0.693359375f + n * 2.12194440e-4f; // ln 2 in two parts, the first exact in float
        var p = new Vector<float>(1.9875691500e-4f);
        p = p * r + new Vector<float>(1.3981999507e-3f);
        p = p * r + new Vector<float>(8.3334519073e-3f);
        p = p * r + new Vector<float>(4.1665795894e-2f);
        p = p * r + new Vector<float>(1.6666665459e-1f);
        p = p * r + new Vector<float>(5.0000001201e-1f);
        p = p * (r * r) + r + Vector<float>.One;
        var scale = Vector.AsVectorSingle(Vector.ShiftLeft(Vector.ConvertToInt32Native(n) + new Vector<int>(127), 23));
        return Vector.ConditionalSelect(Vector.Equals(x, x), p * scale, x);
    }
}
