using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace DistributedBackprop.Core;

/// <summary>
/// Small matrix products in managed vector code: a BLAS call costs microseconds of set-up (packing, dispatch)
/// that a product of a few hundred thousand multiply-adds — the notebook's 32-wide layers, the 10-way output
/// layer — never earns back. Each element is a sum over k in a fixed order that depends on the shape alone,
/// with no fused multiply-add, so the bits do not depend on the CPU's instruction set. Three forms:
/// rows of C built in registers from rows of op(B) (C wide enough for a vector); for narrow C, dot
/// products along k (A stored by rows) or columns of C built from columns of A (A stored transposed).
/// Where the CPU has 512-bit vectors, rows at least two of them wide go to <see cref="WideProduct{T}.Rows"/>:
/// the same sums in the same order (each lane is its own element), at twice the width.
/// </summary>
internal static class SmallProduct<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Products of at most this many multiply-adds run here.</summary>
    public const long MaxMacs = 1 << 18;

    private static int W => Vector<T>.Count; // a constant to the JIT, unlike a static readonly field read before the class is initialised

    [ThreadStatic] private static T[]? _scratch;

    /// <summary><c>c[m,n] = op(a) op(b)</c>, as <see cref="Blas.Gemm{T}"/>.</summary>
    public static void Run(bool transA, bool transB, int m, int n, int k, ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c)
    {
        if (n >= W) Rows(transA, m, n, k, a, transB ? Transposed(b, n, k) : b, c);
        else if (!transA) Dots(m, n, k, a, transB ? b : Transposed(b, k, n), c);
        else Columns(transB, m, n, k, a, b, c);
    }

    /// <summary>The [cols, rows] transpose of a [rows, cols] matrix, in this thread's scratch.</summary>
    private static ReadOnlySpan<T> Transposed(ReadOnlySpan<T> x, int rows, int cols)
    {
        var scratch = _scratch is { } s && s.Length >= rows * cols ? s : _scratch = new T[Math.Max(rows * cols, 4096)];
        Op.Transpose.Into(x, rows, cols, scratch);
        return scratch.AsSpan(0, rows * cols);
    }

    /// <summary>
    /// c[i,:] = Σ_p op(a)[i,p] · b[p,:], b stored [k,n]: two rows of C by four vectors at a time in registers
    /// (eight independent sums hide the adder's latency), then what is left of the rows and columns.
    /// </summary>
    private static void Rows(bool transA, int m, int n, int k, ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c)
    {
        ref T ra = ref MemoryMarshal.GetReference(a), rb = ref MemoryMarshal.GetReference(b), rc = ref MemoryMarshal.GetReference(c);
        nint rowStride = transA ? 1 : k, colStride = transA ? m : 1;
        if (WideProduct<T>.Available && n >= 2 * Vector512<T>.Count) // the same sums in the same order, twice the lanes
        {
            WideProduct<T>.Rows(ref ra, rowStride, colStride, ref rb, n, ref rc, n, m, n, k);
            return;
        }
        nint i = 0;
        if (n < 4 * W) // no four-vector block in a row: four rows' vectors at a time instead
            for (; i + 4 <= m; i += 4)
                Rest4(ref Unsafe.Add(ref ra, i * rowStride), rowStride, colStride, ref rb, ref Unsafe.Add(ref rc, i * n), n, k);
        for (; i + 2 <= m; i += 2)
        {
            ref T a0 = ref Unsafe.Add(ref ra, i * rowStride);
            ref T a1 = ref Unsafe.Add(ref ra, (i + 1) * rowStride);
            nint j = 0;
            for (; j + 4 * W <= n; j += 4 * W)
            {
                Vector<T> c00 = default, c01 = default, c02 = default, c03 = default;
                Vector<T> c10 = default, c11 = default, c12 = default, c13 = default;
                for (nint p = 0; p < k; p++)
                {
                    var x0 = new Vector<T>(Unsafe.Add(ref a0, p * colStride));
                    var x1 = new Vector<T>(Unsafe.Add(ref a1, p * colStride));
                    ref T bp = ref Unsafe.Add(ref rb, p * n + j);
                    var b0 = Vector.LoadUnsafe(ref bp);
                    var b1 = Vector.LoadUnsafe(ref bp, (nuint)W);
                    var b2 = Vector.LoadUnsafe(ref bp, (nuint)(2 * W));
                    var b3 = Vector.LoadUnsafe(ref bp, (nuint)(3 * W));
                    c00 += x0 * b0; c01 += x0 * b1; c02 += x0 * b2; c03 += x0 * b3;
                    c10 += x1 * b0; c11 += x1 * b1; c12 += x1 * b2; c13 += x1 * b3;
                }
                ref T ci0 = ref Unsafe.Add(ref rc, i * n + j);
                ref T ci1 = ref Unsafe.Add(ref rc, (i + 1) * n + j);
                c00.StoreUnsafe(ref ci0); c01.StoreUnsafe(ref ci0, (nuint)W); c02.StoreUnsafe(ref ci0, (nuint)(2 * W)); c03.StoreUnsafe(ref ci0, (nuint)(3 * W));
                c10.StoreUnsafe(ref ci1); c11.StoreUnsafe(ref ci1, (nuint)W); c12.StoreUnsafe(ref ci1, (nuint)(2 * W)); c13.StoreUnsafe(ref ci1, (nuint)(3 * W));
            }
            Rest2(ref a0, ref a1, colStride, ref rb, ref Unsafe.Add(ref rc, i * n), ref Unsafe.Add(ref rc, (i + 1) * n), n, k, j);
        }
        if (i < m) Rest(ref Unsafe.Add(ref ra, i * rowStride), colStride, ref rb, ref Unsafe.Add(ref rc, i * n), n, k, 0);
    }

    /// <summary>One row of C from column <paramref name="j"/> on: a vector, then an element, at a time.</summary>
    private static void Rest(ref T ai, nint colStride, ref T rb, ref T ci, nint n, nint k, nint j)
    {
        for (; j + W <= n; j += W)
        {
            Vector<T> c0 = default;
            for (nint p = 0; p < k; p++) c0 += new Vector<T>(Unsafe.Add(ref ai, p * colStride)) * Vector.LoadUnsafe(ref rb, (nuint)(p * n + j));
            c0.StoreUnsafe(ref ci, (nuint)j);
        }
        for (; j < n; j++)
        {
            T sum = T.Zero;
            for (nint p = 0; p < k; p++) sum += Unsafe.Add(ref ai, p * colStride) * Unsafe.Add(ref rb, p * n + j);
            Unsafe.Add(ref ci, j) = sum;
        }
    }

    /// <summary>
    /// Two rows of C from column <paramref name="j"/> on, side by side: each element is the same chain of
    /// multiplies and adds over p as in <see cref="Rest"/>, so the same bits, but two rows (and two columns of
    /// the elements left over) give the adder independent chains. One row at a time, every add waited for
    /// the one before: a 10-wide output layer's whole forward product ran at the adder's latency.
    /// </summary>
    private static void Rest2(ref T a0, ref T a1, nint colStride, ref T rb, ref T c0, ref T c1, nint n, nint k, nint j)
    {
        for (; j + W <= n; j += W)
        {
            Vector<T> s0 = default, s1 = default;
            for (nint p = 0; p < k; p++)
            {
                var bp = Vector.LoadUnsafe(ref rb, (nuint)(p * n + j));
                s0 += new Vector<T>(Unsafe.Add(ref a0, p * colStride)) * bp;
                s1 += new Vector<T>(Unsafe.Add(ref a1, p * colStride)) * bp;
            }
            s0.StoreUnsafe(ref c0, (nuint)j);
            s1.StoreUnsafe(ref c1, (nuint)j);
        }
        for (; j + 2 <= n; j += 2)
        {
            T s00 = T.Zero, s01 = T.Zero, s10 = T.Zero, s11 = T.Zero;
            for (nint p = 0; p < k; p++)
            {
                T x0 = Unsafe.Add(ref a0, p * colStride), x1 = Unsafe.Add(ref a1, p * colStride);
                T b0 = Unsafe.Add(ref rb, p * n + j), b1 = Unsafe.Add(ref rb, p * n + j + 1);
                s00 += x0 * b0;
                s01 += x0 * b1;
                s10 += x1 * b0;
                s11 += x1 * b1;
            }
            (Unsafe.Add(ref c0, j), Unsafe.Add(ref c0, j + 1), Unsafe.Add(ref c1, j), Unsafe.Add(ref c1, j + 1)) = (s00, s01, s10, s11);
        }
        if (j < n)
        {
            T s0 = T.Zero, s1 = T.Zero;
            for (nint p = 0; p < k; p++)
            {
                T b = Unsafe.Add(ref rb, p * n + j);
                s0 += Unsafe.Add(ref a0, p * colStride) * b;
                s1 += Unsafe.Add(ref a1, p * colStride) * b;
            }
            (Unsafe.Add(ref c0, j), Unsafe.Add(ref c1, j)) = (s0, s1);
        }
    }

    /// <summary>
    /// Four rows of C, their vectors side by side, then the columns left over two rows at a time
    /// (<see cref="Rest2"/>): the same chains of multiplies and adds over p, four of them for the adder
    /// instead of two. A 10-wide output layer has one vector a row and ran at the adder's latency.
    /// </summary>
    private static void Rest4(ref T a0, nint rowStride, nint colStride, ref T rb, ref T c0, nint n, nint k)
    {
        ref T a1 = ref Unsafe.Add(ref a0, rowStride), a2 = ref Unsafe.Add(ref a0, 2 * rowStride), a3 = ref Unsafe.Add(ref a0, 3 * rowStride);
        ref T c1 = ref Unsafe.Add(ref c0, n), c2 = ref Unsafe.Add(ref c0, 2 * n), c3 = ref Unsafe.Add(ref c0, 3 * n);
        nint j = 0;
        for (; j + W <= n; j += W)
        {
            Vector<T> s0 = default, s1 = default, s2 = default, s3 = default;
            for (nint p = 0; p < k; p++)
            {
                var bp = Vector.LoadUnsafe(ref rb, (nuint)(p * n + j));
                nint at = p * colStride;
                s0 += new Vector<T>(Unsafe.Add(ref a0, at)) * bp;
                s1 += new Vector<T>(Unsafe.Add(ref a1, at)) * bp;
                s2 += new Vector<T>(Unsafe.Add(ref a2, at)) * bp;
                s3 += new Vector<T>(Unsafe.Add(ref a3, at)) * bp;
            }
            s0.StoreUnsafe(ref c0, (nuint)j); s1.StoreUnsafe(ref c1, (nuint)j); s2.StoreUnsafe(ref c2, (nuint)j); s3.StoreUnsafe(ref c3, (nuint)j);
        }
        Rest2(ref a0, ref a1, colStride, ref rb, ref c0, ref c1, n, k, j);
        Rest2(ref a2, ref a3, colStride, ref rb, ref c2, ref c3, n, k, j);
    }

    /// <summary>c[i,j] = a[i,:] · bt[j,:], a stored [m,k] and bt [n,k]: vectors along k, then one horizontal sum.</summary>
    private static void Dots(int m, int n, int k, ReadOnlySpan<T> a, ReadOnlySpan<T> bt, Span<T> c)
    {
        ref T ra = ref MemoryMarshal.GetReference(a), rb = ref MemoryMarshal.GetReference(bt);
        for (nint i = 0; i < m; i++)
            for (nint j = 0; j < n; j++)
            {
                ref T ai = ref Unsafe.Add(ref ra, i * k);
                ref T bj = ref Unsafe.Add(ref rb, j * k);
                var acc = Vector<T>.Zero;
                nint p = 0;
                for (; p + W <= k; p += W) acc += Vector.LoadUnsafe(ref ai, (nuint)p) * Vector.LoadUnsafe(ref bj, (nuint)p);
                T sum = Vector.Sum(acc);
                for (; p < k; p++) sum += Unsafe.Add(ref ai, p) * Unsafe.Add(ref bj, p);
                c[(int)(i * n + j)] = sum;
            }
    }

    /// <summary>c[i..i+W, j] = Σ_p a[p, i..i+W] · op(b)[p,j], a stored [k,m]: vectors down the columns of C.</summary>
    private static void Columns(bool transB, int m, int n, int k, ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c)
    {
        ref T ra = ref MemoryMarshal.GetReference(a), rb = ref MemoryMarshal.GetReference(b);
        nint bRow = transB ? 1 : n, bCol = transB ? k : 1; // op(b)[p,j] at p·bRow + j·bCol
        Span<T> lanes = stackalloc T[W];
        for (nint j = 0; j < n; j++)
        {
            nint i = 0;
            for (; i + W <= m; i += W)
            {
                var acc = Vector<T>.Zero;
                for (nint p = 0; p < k; p++) acc += Vector.LoadUnsafe(ref ra, (nuint)(p * m + i)) * new Vector<T>(Unsafe.Add(ref rb, p * bRow + j * bCol));
                acc.CopyTo(lanes);
                for (int l = 0; l < W; l++) c[(int)((i + l) * n + j)] = lanes[l];
            }
            for (; i < m; i++)
            {
                T sum = T.Zero;
                for (nint p = 0; p < k; p++) sum += Unsafe.Add(ref ra, p * m + i) * Unsafe.Add(ref rb, p * bRow + j * bCol);
                c[(int)(i * n + j)] = sum;
            }
        }
    }
}
