using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MathNet.Numerics.Providers.LinearAlgebra;

namespace DistributedBackprop.Core;

/// <summary>
/// The one seam for matrix products: row-major <c>C = op(A) op(B)</c>. Small products in managed vector code
/// (<see cref="SmallProduct{T}"/>); large ones in 512-bit managed vectors where the CPU has them
/// (<see cref="WideProduct{T}"/>), else through OpenBLAS (<c>libopenblas.so.0</c>, Debian's
/// <c>libopenblas0</c>) where it loads, MathNet.Numerics' managed provider where it does not.
/// Set <c>DBP_BLAS=managed</c> to force the managed provider.
/// </summary>
public static unsafe class Blas
{
    private const int RowMajor = 101, NoTrans = 111, Trans = 112;

    private static readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> Sgemm;
    private static readonly delegate* unmanaged<int, int, int, int, int, int, double, double*, int, double*, int, double, double*, int, void> Dgemm;
    private static readonly delegate* unmanaged<int, void> SetNumThreads;

    /// <summary>Which provider runs the products: "OpenBLAS" or "managed (MathNet.Numerics)".</summary>
    public static string Provider { get; private set; }

    /// <summary>Why the native library is not used, or null where it is.</summary>
    public static string? FallbackReason { get; }

    static Blas()
    {
        Provider = "managed (MathNet.Numerics)";
        if (Environment.GetEnvironmentVariable("DBP_BLAS") is "managed")
        {
            FallbackReason = "DBP_BLAS=managed";
            return;
        }
        foreach (var name in new[] { "libopenblas.so.0", "libopenblas.so", "libopenblas.dylib", "libopenblas" })
        {
            if (!NativeLibrary.TryLoad(name, typeof(Blas).Assembly, null, out var lib)) continue;
            if (!NativeLibrary.TryGetExport(lib, "cblas_sgemm", out var s) || !NativeLibrary.TryGetExport(lib, "cblas_dgemm", out var d)) continue;
            Sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)s;
            Dgemm = (delegate* unmanaged<int, int, int, int, int, int, double, double*, int, double*, int, double, double*, int, void>)d;
            if (NativeLibrary.TryGetExport(lib, "openblas_set_num_threads", out var t))
                SetNumThreads = (delegate* unmanaged<int, void>)t;
            Provider = "OpenBLAS";
            // One thread: OpenBLAS splits a product's sums differently with more threads, and the trainer
            // promises the same bits for any number of workers and threads; the parallelism is the workers'
            // and our own blocks' (see Product), whose cut depends on the shape alone.
            SetThreads(1);
            return;
        }
        FallbackReason = "libopenblas.so.0 not found (install Debian's libopenblas0)";
    }

    /// <summary>Whether large products go through OpenBLAS (false: MathNet's managed provider).</summary>
    public static bool IsNative => Sgemm != null && !ForceManaged;

    private static int _fallbackAnnounced;

    /// <summary>Tests set this to exercise the fallback on a machine that has OpenBLAS.</summary>
    internal static bool ForceManaged { get; set; }

    /// <summary>OpenBLAS's own thread pool size; one per worker keeps two workers from fighting over two cores.</summary>
    public static void SetThreads(int threads)
    {
        if (SetNumThreads != null) SetNumThreads(threads);
    }

    /// <summary>
    /// <c>c[m,n] = op(a) op(b)</c> with op(a) of shape [m,k], op(b) of shape [k,n]; a is stored as [m,k]
    /// (or [k,m] when <paramref name="transA"/>), b as [k,n] (or [n,k] when <paramref name="transB"/>).
    /// </summary>
    public static void Gemm<T>(bool transA, bool transB, int m, int n, int k, ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (m == 0 || n == 0) return;
        if (k == 0) { c[..(m * n)].Clear(); return; }
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double)) throw new NotSupportedException($"matrix product of {typeof(T).Name}");
        // Neither the BLAS nor the vector code checks bounds: the operands must hold what the sizes say.
        if (a.Length < (long)m * k || b.Length < (long)k * n || c.Length < (long)m * n)
            throw new ArgumentException($"a [{m},{k}] by [{k},{n}] product got {a.Length}, {b.Length} and {c.Length} elements");
        if ((long)m * n * k <= SmallProduct<T>.MaxMacs) { SmallProduct<T>.Run(transA, transB, m, n, k, a, b, c); return; }
        bool wide = Wide<T>(transA, transB);
        if (!IsNative && !wide) { ManagedGemm(transA, transB, m, n, k, a, b, c); return; }
        fixed (T* pa = a, pb = b, pc = c)
        {
            var product = new Product(typeof(T) == typeof(float), wide, transA, transB, m, n, k, pa, pb, pc);
            if (product.Blocks == 1) product.Run(0);
            else ProductBlocks.Run(product, Parallelism);
        }
    }

    /// <summary>
    /// Whether a large product runs in 512-bit managed vectors (<see cref="WideProduct{T}"/>) rather than
    /// OpenBLAS: where the CPU has them, for every form but <c>AᵀBᵀ</c> (which no layer produces).
    /// <c>DBP_BLAS=openblas</c> keeps OpenBLAS, to compare (<c>managed</c>, MathNet); tests and the bench use <see cref="PreferOpenBlas"/>.
    /// </summary>
    private static bool Wide<T>(bool transA, bool transB) where T : unmanaged, IFloatingPointIeee754<T> =>
        WideProduct<T>.Available && !(transA && transB) && !PreferOpenBlas && !ForceManaged && !KeepOpenBlas;

    private static readonly bool KeepOpenBlas = Environment.GetEnvironmentVariable("DBP_BLAS") is "openblas" or "managed";

    /// <summary>Large products through OpenBLAS even where the CPU has 512-bit vectors: for tests and the bench's yardstick.</summary>
    public static bool PreferOpenBlas { get; set; }

    /// <summary>Who runs large products: the 512-bit managed kernels, OpenBLAS or MathNet.</summary>
    public static string LargeProducts => WideProduct<float>.Available && !KeepOpenBlas && !PreferOpenBlas ? "512-bit managed vectors" : Provider;

    /// <summary>
    /// How many threads may share one large product's blocks: <c>dbp train --threads</c>, by default the cores
    /// each worker actor (or the plain loop) has to itself. Process-wide, like OpenBLAS's own thread count;
    /// results do not depend on it.
    /// </summary>
    public static int Parallelism
    {
        get => _parallelism;
        set => _parallelism = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), $"parallelism must be 1 or more, not {value}");
    }
    private static int _parallelism = 1;

    /// <summary>
    /// One native product, cut into blocks of <see cref="BlockSize"/> output rows (or columns, for a product
    /// with few rows) when it is large. The cut depends on the shape alone, and each block is an ordinary
    /// product, so the bits are the same however many threads run the blocks and in whatever order.
    /// </summary>
    internal readonly struct Product
    {
        /// <summary>Below this many multiply-adds a product is one block: a second thread would not pay for its wake-up.</summary>
        private const long SplitMacs = 1 << 21;
        private const int BlockSize = 128;

        private readonly bool _single, _wide, _transA, _transB, _byRows;
        private readonly int _m, _n, _k;
        private readonly nint _a, _b, _c;
        public int Blocks { get; }

        public Product(bool single, bool wide, bool transA, bool transB, int m, int n, int k, void* a, void* b, void* c)
        {
            (_single, _wide, _transA, _transB, _m, _n, _k, _a, _b, _c) = (single, wide, transA, transB, m, n, k, (nint)a, (nint)b, (nint)c);
            bool large = (long)m * n * k >= SplitMacs;
            _byRows = m >= 2 * BlockSize;
            Blocks = !large ? 1 : _byRows ? (m + BlockSize - 1) / BlockSize : n >= 2 * BlockSize ? (n + BlockSize - 1) / BlockSize : 1;
        }

        /// <summary>Block <paramref name="i"/>: rows (or columns) [i·BlockSize, ...) of c, from the matching rows of op(a) (columns of op(b)).</summary>
        public void Run(int i)
        {
            int size = _single ? sizeof(float) : sizeof(double);
            int lda = _transA ? _m : _k, ldb = _transB ? _k : _n, ldc = _n;
            int start = i * BlockSize;
            int m = _m, n = _n;
            nint a = _a, b = _b, c = _c;
            if (Blocks > 1 && _byRows)
            {
                m = Math.Min(BlockSize, _m - start);
                a += (nint)start * (_transA ? 1 : _k) * size;
                c += (nint)start * _n * size;
            }
            else if (Blocks > 1)
            {
                n = Math.Min(BlockSize, _n - start);
                b += (nint)start * (_transB ? _k : 1) * size;
                c += (nint)start * size;
            }
            if (_wide)
            {
                if (_single) RunWide(ref Unsafe.AsRef<float>((void*)a), ref Unsafe.AsRef<float>((void*)b), ref Unsafe.AsRef<float>((void*)c), m, n, lda, ldb, ldc);
                else RunWide(ref Unsafe.AsRef<double>((void*)a), ref Unsafe.AsRef<double>((void*)b), ref Unsafe.AsRef<double>((void*)c), m, n, lda, ldb, ldc);
                return;
            }
            int ta = _transA ? Trans : NoTrans, tb = _transB ? Trans : NoTrans;
            if (_single) Sgemm(RowMajor, ta, tb, m, n, _k, 1f, (float*)a, lda, (float*)b, ldb, 0f, (float*)c, ldc);
            else Dgemm(RowMajor, ta, tb, m, n, _k, 1d, (double*)a, lda, (double*)b, ldb, 0d, (double*)c, ldc);
        }

        private void RunWide<T>(ref T a, ref T b, ref T c, int m, int n, int lda, int ldb, int ldc) where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (_transB) WideProduct<T>.Dots(ref a, lda, ref b, ldb, ref c, ldc, m, n, _k);
            else WideProduct<T>.Rows(ref a, _transA ? 1 : lda, _transA ? lda : 1, ref b, ldb, ref c, ldc, m, n, _k);
        }
    }

    // MathNet's provider is column-major: a row-major [r,c] array is the column-major [c,r] transpose, so the
    // row-major product C = op(A) op(B) is the column-major product C^T = op(B)^T op(A)^T of the same arrays.
    private static void ManagedGemm<T>(bool transA, bool transB, int m, int n, int k, ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // One line, once, on the first product that falls back: a run 10-20 times slower should say why.
        if (Interlocked.Exchange(ref _fallbackAnnounced, 1) == 0)
            Console.Error.WriteLine($"dbp: matrix products run in managed code (MathNet.Numerics): {FallbackReason ?? "forced by a test"}");
        var tb = transB ? Transpose.Transpose : Transpose.DontTranspose;
        var ta = transA ? Transpose.Transpose : Transpose.DontTranspose;
        int rowsB = transB ? k : n, colsB = transB ? n : k; // b as column-major
        int rowsA = transA ? m : k, colsA = transA ? k : m;
        var provider = LinearAlgebraControl.Provider;
        if (typeof(T) == typeof(float))
        {
            var result = new float[m * n];
            provider.MatrixMultiplyWithUpdate(tb, ta, 1f, MemoryMarshal.Cast<T, float>(b)[..(k * n)].ToArray(), rowsB, colsB,
                MemoryMarshal.Cast<T, float>(a)[..(m * k)].ToArray(), rowsA, colsA, 0f, result);
            MemoryMarshal.Cast<float, T>(result).CopyTo(c);
        }
        else if (typeof(T) == typeof(double))
        {
            var result = new double[m * n];
            provider.MatrixMultiplyWithUpdate(tb, ta, 1d, MemoryMarshal.Cast<T, double>(b)[..(k * n)].ToArray(), rowsB, colsB,
                MemoryMarshal.Cast<T, double>(a)[..(m * k)].ToArray(), rowsA, colsA, 0d, result);
            MemoryMarshal.Cast<double, T>(result).CopyTo(c);
        }
        else throw new NotSupportedException($"matrix product of {typeof(T).Name}");
    }
}
