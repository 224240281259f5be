using System.Numerics;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace DistributedBackprop.Core;

/// <summary>An element-wise binary operation with its SIMD span forms.</summary>
internal interface IBinaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    static abstract void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d);
    static abstract void Run(ReadOnlySpan<T> a, T b, Span<T> d);
    static abstract void Run(T a, ReadOnlySpan<T> b, Span<T> d);
}

internal readonly struct AddKernel<T> : IBinaryKernel<T>, IArithmetic<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) => Arithmetic.Run<T, AddKernel<T>>(a, b, d);
    public static void Run(ReadOnlySpan<T> a, T b, Span<T> d) => Arithmetic.Run<T, AddKernel<T>>(a, b, d);
    public static void Run(T a, ReadOnlySpan<T> b, Span<T> d) => Arithmetic.Run<T, AddKernel<T>>(a, b, d);
    public static Vector<T> Apply(Vector<T> a, Vector<T> b) => a + b;
    public static T Apply(T a, T b) => a + b;
}

internal readonly struct SubKernel<T> : IBinaryKernel<T>, IArithmetic<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) => Arithmetic.Run<T, SubKernel<T>>(a, b, d);
    public static void Run(ReadOnlySpan<T> a, T b, Span<T> d) => Arithmetic.Run<T, SubKernel<T>>(a, b, d);
    public static void Run(T a, ReadOnlySpan<T> b, Span<T> d) => Arithmetic.Run<T, SubKernel<T>>(a, b, d);
    public static Vector<T> Apply(Vector<T> a, Vector<T> b) => a - b;
    public static T Apply(T a, T b) => a - b;
}

internal readonly struct MulKernel<T> : IBinaryKernel<T>, IArithmetic<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) => Arithmetic.Run<T, MulKernel<T>>(a, b, d);
    public static void Run(ReadOnlySpan<T> a, T b, Span<T> d) => Arithmetic.Run<T, MulKernel<T>>(a, b, d);
    public static void Run(T a, ReadOnlySpan<T> b, Span<T> d) => Arithmetic.Run<T, MulKernel<T>>(a, b, d);
    public static Vector<T> Apply(Vector<T> a, Vector<T> b) => a * b;
    public static T Apply(T a, T b) => a * b;
}

internal readonly struct DivKernel<T> : IBinaryKernel<T>, IArithmetic<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) => Arithmetic.Run<T, DivKernel<T>>(a, b, d);
    public static void Run(ReadOnlySpan<T> a, T b, Span<T> d) => Arithmetic.Run<T, DivKernel<T>>(a, b, d);
    public static void Run(T a, ReadOnlySpan<T> b, Span<T> d) => Arithmetic.Run<T, DivKernel<T>>(a, b, d);
    public static Vector<T> Apply(Vector<T> a, Vector<T> b) => a / b;
    public static T Apply(T a, T b) => a / b;
}

internal readonly struct PowKernel<T> : IBinaryKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static void Run(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) => TP.Pow(a, b, d);
    public static void Run(ReadOnlySpan<T> a, T b, Span<T> d) => TP.Pow(a, b, d);
    public static void Run(T a, ReadOnlySpan<T> b, Span<T> d) => TP.Pow(a, b, d);
}

/// <summary>
/// NumPy broadcasting, done as runs along the innermost axis so that every run is one SIMD call.
/// </summary>
internal static class Broadcast
{
    public static void Binary<T, TOp>(Tensor<T> a, Tensor<T> b, Tensor<T> d)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : IBinaryKernel<T>
    {
        if (a.Length == d.Length && b.Length == d.Length) { TOp.Run(a.Buffer, b.Buffer, d.Buffer); return; }
        if (b.Length == 1 && a.Length == d.Length) { TOp.Run(a.Buffer, b.Buffer[0], d.Buffer); return; }
        if (a.Length == 1 && b.Length == d.Length) { TOp.Run(a.Buffer[0], b.Buffer, d.Buffer); return; }
        if (a.Length == d.Length && IsTrailing(b.Dims, d.Dims)) // a bias added to every row
        {
            for (int off = 0; off < d.Length; off += b.Length)
                TOp.Run(a.Buffer.AsSpan(off, b.Length), b.Buffer, d.Buffer.AsSpan(off, b.Length));
            return;
        }
        if (b.Length == d.Length && IsTrailing(a.Dims, d.Dims))
        {
            for (int off = 0; off < d.Length; off += a.Length)
                TOp.Run(a.Buffer, b.Buffer.AsSpan(off, a.Length), d.Buffer.AsSpan(off, a.Length));
            return;
        }
        if (a.Length == d.Length && IsRowScalar(b.Dims, d.Dims)) // a per-row statistic (a mean kept as [..., 1]) against its rows
        {
            int inner = d.Dims[^1];
            for (int row = 0; row < b.Length; row++)
                TOp.Run(a.Buffer.AsSpan(row * inner, inner), b.Buffer[row], d.Buffer.AsSpan(row * inner, inner));
            return;
        }
        if (b.Length == d.Length && IsRowScalar(a.Dims, d.Dims))
        {
            int inner = d.Dims[^1];
            for (int row = 0; row < a.Length; row++)
                TOp.Run(a.Buffer[row], b.Buffer.AsSpan(row * inner, inner), d.Buffer.AsSpan(row * inner, inner));
            return;
        }
        var walk = new RowWalk(d.Dims, a.Dims, b.Dims);
        for (int row = 0; row < walk.Rows; row++, walk.Next())
        {
            var dst = d.Buffer.AsSpan(row * walk.Inner, walk.Inner);
            if (walk.RunA && walk.RunB) TOp.Run(a.Buffer.AsSpan(walk.A, walk.Inner), b.Buffer.AsSpan(walk.B, walk.Inner), dst);
            else if (walk.RunA) TOp.Run(a.Buffer.AsSpan(walk.A, walk.Inner), b.Buffer[walk.B], dst);
            else if (walk.RunB) TOp.Run(a.Buffer[walk.A], b.Buffer.AsSpan(walk.B, walk.Inner), dst);
            else { dst.Fill(a.Buffer[walk.A]); TOp.Run(dst, b.Buffer[walk.B], dst); }
        }
    }

    /// <summary>
    /// True where <paramref name="small"/>, without leading 1s, is the trailing part of <paramref name="large"/>:
    /// then broadcasting repeats it as whole contiguous blocks, with no index arithmetic and no allocation.
    /// </summary>
    private static bool IsTrailing(int[] small, int[] large)
    {
        int lead = 0;
        while (lead < small.Length && small[lead] == 1) lead++;
        int n = small.Length - lead;
        return n <= large.Length && n > 0 && small.AsSpan(lead).SequenceEqual(large.AsSpan(large.Length - n));
    }

    /// <summary>
    /// True where <paramref name="small"/> is <paramref name="large"/> with its last axis cut to 1: one value
    /// a row. The general walk does the same operations, but allocates its odometer.
    /// </summary>
    private static bool IsRowScalar(int[] small, int[] large) =>
        small.Length == large.Length && small.Length > 0 && small[^1] == 1 && small.AsSpan(0, small.Length - 1).SequenceEqual(large.AsSpan(0, large.Length - 1));

    /// <summary>Copies <paramref name="src"/> into every position of the larger <paramref name="d"/>.</summary>
    public static void To<T>(Tensor<T> src, Tensor<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (src.Length == d.Length) { src.Buffer.CopyTo(d.Buffer, 0); return; }
        if (src.Length == 1) { Array.Fill(d.Buffer, src.Buffer[0]); return; }
        if (IsTrailing(src.Dims, d.Dims))
        {
            for (int off = 0; off < d.Length; off += src.Length) src.Buffer.CopyTo(d.Buffer, off);
            return;
        }
        if (IsRowScalar(src.Dims, d.Dims))
        {
            int inner = d.Dims[^1];
            for (int row = 0; row < src.Length; row++) d.Buffer.AsSpan(row * inner, inner).Fill(src.Buffer[row]);
            return;
        }
        var walk = new RowWalk(d.Dims, src.Dims, src.Dims);
        for (int row = 0; row < walk.Rows; row++, walk.Next())
        {
            var dst = d.Buffer.AsSpan(row * walk.Inner, walk.Inner);
            if (walk.RunA) src.Buffer.AsSpan(walk.A, walk.Inner).CopyTo(dst);
            else dst.Fill(src.Buffer[walk.A]);
        }
    }

    /// <summary>Sums <paramref name="src"/> over its broadcast axes into the smaller <paramref name="d"/> (NumPy's unbroadcast).</summary>
    public static void SumTo<T>(Tensor<T> src, Tensor<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (src.Length == d.Length) { src.Buffer.CopyTo(d.Buffer, 0); return; }
        if (d.Length == 1) { d.Buffer[0] = TP.Sum<T>(src.Buffer); return; }
        if (IsTrailing(d.Dims, src.Dims)) // a bias's gradient: the rows summed
        {
            src.Buffer.AsSpan(0, d.Length).CopyTo(d.Buffer);
            for (int off = d.Length; off < src.Length; off += d.Length) AddKernel<T>.Run(d.Buffer, src.Buffer.AsSpan(off, d.Length), d.Buffer);
            return;
        }
        Array.Clear(d.Buffer);
        if (IsRowScalar(d.Dims, src.Dims)) // row sums, added to the cleared 0 as the walk below adds them
        {
            int inner = src.Dims[^1];
            for (int row = 0; row < d.Length; row++) d.Buffer[row] += TP.Sum<T>(src.Buffer.AsSpan(row * inner, inner));
            return;
        }
        var walk = new RowWalk(src.Dims, d.Dims, d.Dims);
        for (int row = 0; row < walk.Rows; row++, walk.Next())
        {
            var s = src.Buffer.AsSpan(row * walk.Inner, walk.Inner);
            if (walk.RunA) { var dst = d.Buffer.AsSpan(walk.A, walk.Inner); AddKernel<T>.Run(dst, s, dst); }
            else d.Buffer[walk.A] += TP.Sum<T>(s);
        }
    }
}

/// <summary>
/// Walks the rows (innermost-axis runs) of a full shape, tracking where each row starts in two operands that
/// broadcast to it: an odometer over the outer axes that moves each offset by its stride (0 on broadcast axes).
/// </summary>
internal struct RowWalk
{
    private readonly int[] _dims, _sa, _sb, _index;
    public readonly int Inner, Rows;
    public readonly bool RunA, RunB;
    public int A, B;

    public RowWalk(int[] dims, int[] a, int[] b)
    {
        int rank = dims.Length;
        _dims = dims;
        _sa = Strides(a, rank);
        _sb = Strides(b, rank);
        _index = new int[Math.Max(rank - 1, 0)];
        Inner = rank == 0 ? 1 : dims[rank - 1];
        Rows = Inner == 0 ? 0 : Shapes.Size(dims) / Inner;
        RunA = rank > 0 && _sa[rank - 1] != 0;
        RunB = rank > 0 && _sb[rank - 1] != 0;
    }

    public void Next()
    {
        for (int ax = _dims.Length - 2; ax >= 0; ax--)
        {
            A += _sa[ax]; B += _sb[ax];
            if (++_index[ax] < _dims[ax]) return;
            A -= _sa[ax] * _index[ax]; B -= _sb[ax] * _index[ax];
            _index[ax] = 0;
        }
    }

    /// <summary>Row-major strides of <paramref name="shape"/> aligned to <paramref name="rank"/> axes, 0 where broadcast.</summary>
    private static int[] Strides(ReadOnlySpan<int> shape, int rank)
    {
        var strides = new int[rank];
        int stride = 1;
        for (int i = rank - 1; i >= 0; i--)
        {
            int k = i - (rank - shape.Length);
            int dim = k >= 0 ? shape[k] : 1;
            strides[i] = dim == 1 ? 0 : stride;
            stride *= dim;
        }
        return strides;
    }
}
