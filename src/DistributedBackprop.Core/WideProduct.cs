using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace DistributedBackprop.Core;

/// <summary>
/// Matrix products in 512-bit vectors, where the CPU has them. Separate multiplies and adds in 16 float
/// lanes outrun OpenBLAS's 256-bit fused kernel on this machine (Zen 5, which OpenBLAS
/// 0.3.21 runs as Haswell): 126-175 against OpenBLAS's 94-100 GFLOPS on one core (<c>dbp bench</c>'s product rows).
/// Two forms, both with a fixed order of additions that depends on the shape alone, none fused:
/// <list type="bullet">
/// <item><see cref="Rows"/> (b stored [k,n]): each element of C is its products added in the order of p, as
/// <see cref="SmallProduct{T}"/> builds them, so the same bits as the narrower vectors and a plain loop;
/// k is cut into blocks whose partial sums are stored in C and picked up again, which keeps a block of b in
/// the first-level cache without changing the order.</item>
/// <item><see cref="Dots"/> (b stored [n,k], i.e. <c>x Wᵀ</c>): each element is the sum of
/// <see cref="Lanes"/> chains along k (lane l takes p ≡ l), added in a fixed order, then the last k mod
/// Lanes products in order.</item>
/// </list>
/// </summary>
internal static class WideProduct<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Whether the CPU runs 512-bit vectors of T natively (it does not pay to emulate them).</summary>
    public static bool Available => Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported;

    private static int Lanes => Vector512<T>.Count;

    /// <summary>Steps of p per pass over C: 256 rows of a 32-wide block of b are 32 kB of floats, in L1.</summary>
    private const int DepthBlock = 256;

    /// <summary>
    /// c[i,j] = Σ_p op(a)[i,p] · b[p,j] with op(a)[i,p] at a[i·aRow + p·aCol], b[p,j] at b[p·ldb + j] and
    /// c[i,j] at c[i·ldc + j]: eight rows by two vectors in registers, then the rows and columns left over.
    /// </summary>
    public static void Rows(ref T a, nint aRow, nint aCol, ref T b, nint ldb, ref T c, nint ldc, int m, int n, int k)
    {
        int w = Lanes;
        nint rows8 = m - m % 8, cols2 = n - n % (2 * w);
        for (nint p0 = 0; p0 < k; p0 += DepthBlock)
        {
            nint p1 = Math.Min(p0 + DepthBlock, k);
            for (nint j = 0; j < cols2; j += 2 * w)
                for (nint i = 0; i < rows8; i += 8)
                    Tile8x2(ref Unsafe.Add(ref a, i * aRow), aRow, aCol, ref Unsafe.Add(ref b, j), ldb, ref Unsafe.Add(ref c, i * ldc + j), ldc, p0, p1);
        }
        // What is left, each element over the whole of k at once: the same additions in the same order.
        for (nint j = cols2; j + w <= n; j += w)
            for (nint i = 0; i < rows8; i += 8)
                Tile8x1(ref Unsafe.Add(ref a, i * aRow), aRow, aCol, ref Unsafe.Add(ref b, j), ldb, ref Unsafe.Add(ref c, i * ldc + j), ldc, k);
        nint vectorCols = n - n % w;
        for (nint i = 0; i < m; i++)
        {
            ref T ai = ref Unsafe.Add(ref a, i * aRow);
            for (nint j = i < rows8 ? vectorCols : 0; j < n; j++)
            {
                if (j + w <= n && j < vectorCols) { Vector1(ref ai, aCol, ref Unsafe.Add(ref b, j), ldb, ref Unsafe.Add(ref c, i * ldc + j), k); j += w - 1; continue; }
                T sum = T.Zero;
                for (nint p = 0; p < k; p++) sum += Unsafe.Add(ref ai, p * aCol) * Unsafe.Add(ref b, p * ldb + j);
                Unsafe.Add(ref c, i * ldc + j) = sum;
            }
        }
    }

    /// <summary>Rows i..i+8, columns j..j+2·Lanes, steps p0..p1 of the sums (picked up from c after the first block).</summary>
    private static void Tile8x2(ref T a, nint aRow, nint aCol, ref T b, nint ldb, ref T c, nint ldc, nint p0, nint p1)
    {
        nuint w = (nuint)Lanes, l = (nuint)ldc;
        Vector512<T> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
        if (p0 == 0) c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = c60 = c61 = c70 = c71 = default;
        else
        {
            c00 = Vector512.LoadUnsafe(ref c); c01 = Vector512.LoadUnsafe(ref c, w);
            c10 = Vector512.LoadUnsafe(ref c, l); c11 = Vector512.LoadUnsafe(ref c, l + w);
            c20 = Vector512.LoadUnsafe(ref c, 2 * l); c21 = Vector512.LoadUnsafe(ref c, 2 * l + w);
            c30 = Vector512.LoadUnsafe(ref c, 3 * l); c31 = Vector512.LoadUnsafe(ref c, 3 * l + w);
            c40 = Vector512.LoadUnsafe(ref c, 4 * l); c41 = Vector512.LoadUnsafe(ref c, 4 * l + w);
            c50 = Vector512.LoadUnsafe(ref c, 5 * l); c51 = Vector512.LoadUnsafe(ref c, 5 * l + w);
            c60 = Vector512.LoadUnsafe(ref c, 6 * l); c61 = Vector512.LoadUnsafe(ref c, 6 * l + w);
            c70 = Vector512.LoadUnsafe(ref c, 7 * l); c71 = Vector512.LoadUnsafe(ref c, 7 * l + w);
        }
        ref T a1 = ref Unsafe.Add(ref a, aRow), a2 = ref Unsafe.Add(ref a, 2 * aRow), a3 = ref Unsafe.Add(ref a, 3 * aRow);
        ref T a4 = ref Unsafe.Add(ref a, 4 * aRow), a5 = ref Unsafe.Add(ref a, 5 * aRow), a6 = ref Unsafe.Add(ref a, 6 * aRow), a7 = ref Unsafe.Add(ref a, 7 * aRow);
        for (nint p = p0; p < p1; p++)
        {
            ref T bp = ref Unsafe.Add(ref b, p * ldb);
            var b0 = Vector512.LoadUnsafe(ref bp);
            var b1 = Vector512.LoadUnsafe(ref bp, w);
            nint at = p * aCol;
            var x = Vector512.Create(Unsafe.Add(ref a, at)); c00 += x * b0; c01 += x * b1;
            x = Vector512.Create(Unsafe.Add(ref a1, at)); c10 += x * b0; c11 += x * b1;
            x = Vector512.Create(Unsafe.Add(ref a2, at)); c20 += x * b0; c21 += x * b1;
            x = Vector512.Create(Unsafe.Add(ref a3, at)); c30 += x * b0; c31 += x * b1;
            x = Vector512.Create(Unsafe.Add(ref a4, at)); c40 += x * b0; c41 += x * b1;
            x = Vector512.Create(Unsafe.Add(ref a5, at)); c50 += x * b0; c51 += x * b1;
            x = Vector512.Create(Unsafe.Add(ref a6, at)); c60 += x * b0; c61 += x * b1;
            x = Vector512.Create(Unsafe.Add(ref a7, at)); c70 += x * b0; c71 += x * b1;
        }
        c00.StoreUnsafe(ref c); c01.StoreUnsafe(ref c, w);
        c10.StoreUnsafe(ref c, l); c11.StoreUnsafe(ref c, l + w);
        c20.StoreUnsafe(ref c, 2 * l); c21.StoreUnsafe(ref c, 2 * l + w);
        c30.StoreUnsafe(ref c, 3 * l); c31.StoreUnsafe(ref c, 3 * l + w);
        c40.StoreUnsafe(ref c, 4 * l); c41.StoreUnsafe(ref c, 4 * l + w);
        c50.StoreUnsafe(ref c, 5 * l); c51.StoreUnsafe(ref c, 5 * l + w);
        c60.StoreUnsafe(ref c, 6 * l); c61.StoreUnsafe(ref c, 6 * l + w);
        c70.StoreUnsafe(ref c, 7 * l); c71.StoreUnsafe(ref c, 7 * l + w);
    }

    /// <summary>Rows i..i+8, one vector of columns, all of k: eight chains for the adder.</summary>
    private static void Tile8x1(ref T a, nint aRow, nint aCol, ref T b, nint ldb, ref T c, nint ldc, int k)
    {
        nuint l = (nuint)ldc;
        Vector512<T> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        for (nint p = 0; p < k; p++)
        {
            var bp = Vector512.LoadUnsafe(ref Unsafe.Add(ref b, p * ldb));
            ref T ap = ref Unsafe.Add(ref a, p * aCol);
            s0 += Vector512.Create(ap) * bp;
            s1 += Vector512.Create(Unsafe.Add(ref ap, aRow)) * bp;
            s2 += Vector512.Create(Unsafe.Add(ref ap, 2 * aRow)) * bp;
            s3 += Vector512.Create(Unsafe.Add(ref ap, 3 * aRow)) * bp;
            s4 += Vector512.Create(Unsafe.Add(ref ap, 4 * aRow)) * bp;
            s5 += Vector512.Create(Unsafe.Add(ref ap, 5 * aRow)) * bp;
            s6 += Vector512.Create(Unsafe.Add(ref ap, 6 * aRow)) * bp;
            s7 += Vector512.Create(Unsafe.Add(ref ap, 7 * aRow)) * bp;
        }
        s0.StoreUnsafe(ref c); s1.StoreUnsafe(ref c, l); s2.StoreUnsafe(ref c, 2 * l); s3.StoreUnsafe(ref c, 3 * l);
        s4.StoreUnsafe(ref c, 4 * l); s5.StoreUnsafe(ref c, 5 * l); s6.StoreUnsafe(ref c, 6 * l); s7.StoreUnsafe(ref c, 7 * l);
    }

    /// <summary>One row, one vector of columns, all of k.</summary>
    private static void Vector1(ref T ai, nint aCol, ref T b, nint ldb, ref T c, int k)
    {
        Vector512<T> s = default;
        for (nint p = 0; p < k; p++) s += Vector512.Create(Unsafe.Add(ref ai, p * aCol)) * Vector512.LoadUnsafe(ref Unsafe.Add(ref b, p * ldb));
        s.StoreUnsafe(ref c);
    }

    /// <summary>
    /// c[i,j] = a[i,:] · bt[j,:], a's rows at a[i·lda], bt's at bt[j·ldb], c[i,j] at c[i·ldc + j]: four rows
    /// by four columns of C, sixteen vector chains along k, then the rows and columns left over one by one.
    /// </summary>
    public static void Dots(ref T a, nint lda, ref T bt, nint ldb, ref T c, nint ldc, int m, int n, int k)
    {
        nint rows4 = m - m % 4, cols4 = n - n % 4;
        for (nint j = 0; j < cols4; j += 4)
            for (nint i = 0; i < rows4; i += 4)
                Dot4x4(ref Unsafe.Add(ref a, i * lda), lda, ref Unsafe.Add(ref bt, j * ldb), ldb, ref Unsafe.Add(ref c, i * ldc + j), ldc, k);
        for (nint i = 0; i < m; i++)
            for (nint j = i < rows4 ? cols4 : 0; j < n; j++)
                Unsafe.Add(ref c, i * ldc + j) = Dot(ref Unsafe.Add(ref a, i * lda), ref Unsafe.Add(ref bt, j * ldb), k);
    }

    private static void Dot4x4(ref T a0, nint lda, ref T b0, nint ldb, ref T c, nint ldc, int k)
    {
        ref T a1 = ref Unsafe.Add(ref a0, lda), a2 = ref Unsafe.Add(ref a0, 2 * lda), a3 = ref Unsafe.Add(ref a0, 3 * lda);
        ref T b1 = ref Unsafe.Add(ref b0, ldb), b2 = ref Unsafe.Add(ref b0, 2 * ldb), b3 = ref Unsafe.Add(ref b0, 3 * ldb);
        Vector512<T> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default, s13 = default;
        Vector512<T> s20 = default, s21 = default, s22 = default, s23 = default, s30 = default, s31 = default, s32 = default, s33 = default;
        nint p = 0;
        for (; p + Lanes <= k; p += Lanes)
        {
            nuint at = (nuint)p;
            var y0 = Vector512.LoadUnsafe(ref b0, at); var y1 = Vector512.LoadUnsafe(ref b1, at);
            var y2 = Vector512.LoadUnsafe(ref b2, at); var y3 = Vector512.LoadUnsafe(ref b3, at);
            var x = Vector512.LoadUnsafe(ref a0, at); s00 += x * y0; s01 += x * y1; s02 += x * y2; s03 += x * y3;
            x = Vector512.LoadUnsafe(ref a1, at); s10 += x * y0; s11 += x * y1; s12 += x * y2; s13 += x * y3;
            x = Vector512.LoadUnsafe(ref a2, at); s20 += x * y0; s21 += x * y1; s22 += x * y2; s23 += x * y3;
            x = Vector512.LoadUnsafe(ref a3, at); s30 += x * y0; s31 += x * y1; s32 += x * y2; s33 += x * y3;
        }
        // The sums go to c before anything is called: a call would clobber the vector registers, and the
        // JIT then kept all sixteen sums in memory through the loop (35 GFLOPS, not 120).
        ref T c1 = ref Unsafe.Add(ref c, ldc), c2 = ref Unsafe.Add(ref c, 2 * ldc), c3 = ref Unsafe.Add(ref c, 3 * ldc);
        c = Reduce(s00); Unsafe.Add(ref c, 1) = Reduce(s01); Unsafe.Add(ref c, 2) = Reduce(s02); Unsafe.Add(ref c, 3) = Reduce(s03);
        c1 = Reduce(s10); Unsafe.Add(ref c1, 1) = Reduce(s11); Unsafe.Add(ref c1, 2) = Reduce(s12); Unsafe.Add(ref c1, 3) = Reduce(s13);
        c2 = Reduce(s20); Unsafe.Add(ref c2, 1) = Reduce(s21); Unsafe.Add(ref c2, 2) = Reduce(s22); Unsafe.Add(ref c2, 3) = Reduce(s23);
        c3 = Reduce(s30); Unsafe.Add(ref c3, 1) = Reduce(s31); Unsafe.Add(ref c3, 2) = Reduce(s32); Unsafe.Add(ref c3, 3) = Reduce(s33);
        if (p < k)
            for (nint i = 0; i < 4; i++)
                for (nint j = 0; j < 4; j++)
                    Unsafe.Add(ref c, i * ldc + j) = Tail(Unsafe.Add(ref c, i * ldc + j), ref Unsafe.Add(ref a0, i * lda), ref Unsafe.Add(ref b0, j * ldb), p, k);
    }

    /// <summary>One element of <see cref="Dots"/>, with the same chains as a 4x4 tile's.</summary>
    private static T Dot(ref T a, ref T b, int k)
    {
        Vector512<T> s = default;
        nint p = 0;
        for (; p + Lanes <= k; p += Lanes) s += Vector512.LoadUnsafe(ref a, (nuint)p) * Vector512.LoadUnsafe(ref b, (nuint)p);
        return Tail(Reduce(s), ref a, ref b, p, k);
    }

    /// <summary>The lanes added in a fixed order: halves, then quarters, then the four (or two) in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Reduce(Vector512<T> s)
    {
        var half = s.GetLower() + s.GetUpper();
        var quarter = half.GetLower() + half.GetUpper();
        T sum = quarter.GetElement(0);
        for (int l = 1; l < Vector128<T>.Count; l++) sum += quarter.GetElement(l);
        return sum;
    }

    /// <summary><paramref name="sum"/> plus the products p..k, in order.</summary>
    private static T Tail(T sum, ref T a, ref T b, nint p, int k)
    {
        for (; p < k; p++) sum += Unsafe.Add(ref a, p) * Unsafe.Add(ref b, p);
        return sum;
    }
}
