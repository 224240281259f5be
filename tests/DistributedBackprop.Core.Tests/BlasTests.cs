using DistributedBackprop.Core;

namespace DistributedBackprop.Core.Tests;

/// <summary>The BLAS seam: OpenBLAS where installed (CI installs libopenblas0) and the managed fallback agree with a plain loop.</summary>
[Collection(nameof(BlasTests))] // switches the process-wide provider
public class BlasTests
{
    private static double[] Naive(bool ta, bool tb, int m, int n, int k, double[] a, double[] b)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                for (int p = 0; p < k; p++)
                    c[i * n + j] += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
        return c;
    }

    /// <summary>Sums of k products of numbers in [-1, 1]: rounding error grows with k.</summary>
    private static void Close(double[] expected, double[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.InRange(actual[i] - expected[i], -tolerance, tolerance);
    }

    public static TheoryData<bool, bool, bool> Combinations()
    {
        var data = new TheoryData<bool, bool, bool>();
        foreach (var managed in new[] { false, true })
            foreach (var ta in new[] { false, true })
                foreach (var tb in new[] { false, true })
                    data.Add(managed, ta, tb);
        return data;
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public void Gemm_matches_a_plain_loop(bool managed, bool ta, bool tb)
    {
        Blas.ForceManaged = managed;
        try { MatchesAPlainLoop(ta, tb, 70, 65, 60); } // over SmallProduct's size: the BLAS or its fallback runs it
        finally { Blas.ForceManaged = false; }
    }

    /// <summary>A product of random numbers in [-1, 1], in double and in float, against <see cref="Naive"/>.</summary>
    private static void MatchesAPlainLoop(bool ta, bool tb, int m, int n, int k)
    {
        var a = TestData.Uniform(1, -1, 1, m * k).ToArray();
        var b = TestData.Uniform(2, -1, 1, k * n).ToArray();
        var expected = Naive(ta, tb, m, n, k, a, b);
        var c = new double[m * n];
        Blas.Gemm<double>(ta, tb, m, n, k, a, b, c);
        Close(expected, c, 1e-13 * k);
        var cf = new float[m * n];
        Blas.Gemm<float>(ta, tb, m, n, k, a.Select(x => (float)x).ToArray(), b.Select(x => (float)x).ToArray(), cf);
        Close(expected, cf.Select(x => (double)x).ToArray(), 1e-5 * k);
    }

    /// <summary>Every transpose combination of each (m, n, k).</summary>
    private static TheoryData<bool, bool, int, int, int> Shapes(params (int M, int N, int K)[] sizes)
    {
        var data = new TheoryData<bool, bool, int, int, int>();
        foreach (var ta in new[] { false, true })
            foreach (var tb in new[] { false, true })
                foreach (var (m, n, k) in sizes)
                    data.Add(ta, tb, m, n, k);
        return data;
    }

    public static TheoryData<bool, bool, int, int, int> SmallProducts() => Shapes((5, 7, 3), (200, 32, 32), (1, 45, 200), (64, 10, 256), (3, 1, 1));

    [Theory]
    [MemberData(nameof(SmallProducts))]
    public void Small_products_match_a_plain_loop_in_both_precisions(bool ta, bool tb, int m, int n, int k) => MatchesAPlainLoop(ta, tb, m, n, k);

    // At least a vector wide: every element of C is built along k in order, whichever rows and columns share registers.
    public static TheoryData<bool, bool, int, int, int> WideSmallProducts() => Shapes((64, 10, 256), (5, 11, 3), (3, 9, 7), (200, 32, 32), (1, 45, 200), (6, 17, 40));

    [Theory]
    [MemberData(nameof(WideSmallProducts))]
    public void A_wide_small_product_is_each_elements_products_added_in_order_bit_for_bit(bool ta, bool tb, int m, int n, int k)
    {
        var a = TestData.Uniform(5, -1, 1, m * k).ToArray().Select(x => (float)x).ToArray();
        var b = TestData.Uniform(6, -1, 1, k * n).ToArray().Select(x => (float)x).ToArray();
        var c = new float[m * n];
        Blas.Gemm<float>(ta, tb, m, n, k, a, b, c);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float sum = 0;
                for (int p = 0; p < k; p++) sum += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
                Assert.True(BitConverter.SingleToInt32Bits(sum) == BitConverter.SingleToInt32Bits(c[i * n + j]), $"c[{i},{j}] = {c[i * n + j]:R}, in order {sum:R}");
            }
    }

    // Cut into blocks of rows, the last one short; few rows: cut into blocks of columns.
    public static TheoryData<bool, bool, int, int, int> LargeProducts() => Shapes((300, 90, 80), (40, 330, 170));

    [Theory]
    [MemberData(nameof(LargeProducts))]
    public void A_large_product_is_cut_into_blocks_that_give_the_same_bits_on_any_number_of_threads(bool ta, bool tb, int m, int n, int k)
    {
        var a = TestData.Uniform(3, -1, 1, m * k).ToArray();
        var b = TestData.Uniform(4, -1, 1, k * n).ToArray();
        var expected = Naive(ta, tb, m, n, k, a, b);
        var (af, bf) = (a.Select(x => (float)x).ToArray(), b.Select(x => (float)x).ToArray());
        float[] Product(int threads)
        {
            Blas.Parallelism = threads;
            try
            {
                var c = new float[m * n];
                Blas.Gemm<float>(ta, tb, m, n, k, af, bf, c);
                return c;
            }
            finally { Blas.Parallelism = 1; }
        }
        var one = Product(1);
        Close(expected, one.Select(x => (double)x).ToArray(), 1e-5 * k);
        for (int run = 0; run < 20; run++) Assert.Equal(one, Product(2 + run % 3));
    }

    // Tails of rows (m mod 8) and columns (n mod 32, mod 16), k over one and several depth blocks of 256.
    public static TheoryData<bool, bool, int, int, int> WideLargeProducts() => Shapes((300, 90, 80), (40, 330, 170), (128, 256, 784), (13, 61, 530), (256, 784, 64));

    [Theory]
    [MemberData(nameof(WideLargeProducts))]
    public void A_large_product_in_512_bit_vectors_has_the_bits_of_its_fixed_order_on_any_number_of_threads(bool ta, bool tb, int m, int n, int k)
    {
        if (!WideProduct<float>.Available || (ta && tb)) return; // OpenBLAS runs these; the tests above cover it
        var a = TestData.Uniform(7, -1, 1, m * k).ToArray().Select(x => (float)x).ToArray();
        var b = TestData.Uniform(8, -1, 1, k * n).ToArray().Select(x => (float)x).ToArray();
        var expected = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float A(int p) => ta ? a[p * m + i] : a[i * k + p];
                float B(int p) => tb ? b[j * k + p] : b[p * n + j];
                if (!tb) // each element's products added in the order of p
                {
                    float sum = 0;
                    for (int p = 0; p < k; p++) sum += A(p) * B(p);
                    expected[i * n + j] = sum;
                    continue;
                }
                // x Wᵀ: sixteen chains (lane l takes p ≡ l), halves, quarters, the four in order, then the tail
                int whole = k - k % 16;
                var lanes = new float[16];
                for (int p = 0; p < whole; p++) lanes[p % 16] += A(p) * B(p);
                var half = Enumerable.Range(0, 8).Select(l => lanes[l] + lanes[l + 8]).ToArray();
                var quarter = Enumerable.Range(0, 4).Select(l => half[l] + half[l + 4]).ToArray();
                float total = quarter[0] + quarter[1] + quarter[2] + quarter[3];
                for (int p = whole; p < k; p++) total += A(p) * B(p);
                expected[i * n + j] = total;
            }
        foreach (var threads in new[] { 1, 2, 3 })
        {
            Blas.Parallelism = threads;
            try
            {
                var c = new float[m * n];
                Blas.Gemm<float>(ta, tb, m, n, k, a, b, c);
                for (int e = 0; e < c.Length; e++)
                    Assert.True(BitConverter.SingleToInt32Bits(expected[e]) == BitConverter.SingleToInt32Bits(c[e]), $"{threads} thread(s): c[{e / n},{e % n}] = {c[e]:R}, expected {expected[e]:R}");
            }
            finally { Blas.Parallelism = 1; }
        }
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public void Large_products_through_OpenBLAS_still_match_a_plain_loop(bool managed, bool ta, bool tb)
    {
        Blas.PreferOpenBlas = true;
        Blas.ForceManaged = managed;
        try { MatchesAPlainLoop(ta, tb, 300, 90, 80); }
        finally { (Blas.PreferOpenBlas, Blas.ForceManaged) = (false, false); }
    }

    [Fact]
    public void Parallelism_below_one_is_refused() => Assert.Throws<ArgumentOutOfRangeException>(() => Blas.Parallelism = 0);

    [Fact]
    public void OpenBlas_is_used_where_libopenblas0_is_installed()
    {
        // CI installs libopenblas0, so this guards against silently testing only the fallback.
        if (!File.Exists("/usr/lib/x86_64-linux-gnu/libopenblas.so.0") || Environment.GetEnvironmentVariable("DBP_BLAS") == "managed") return;
        Assert.Equal("OpenBLAS", Blas.Provider);
        Assert.True(Blas.IsNative);
    }
}
