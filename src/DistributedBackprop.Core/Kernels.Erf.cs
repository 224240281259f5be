using System.Numerics;
using System.Runtime.CompilerServices;

namespace DistributedBackprop.Core;

/// <summary>
/// The error function and the standard normal distribution, for GELU, in vector code of our own (no fused
/// multiply-add: the same bits on any CPU, like <see cref="Activations.Exp(System.Numerics.Vector{float})"/>). The core is erfc of a ≥ 0 as
/// exp(-a²) S(t) / (1 + 2a) with t = (a - K) / (a + K) (Shepherd and Laframboise's form): one polynomial S
/// covers the whole half-line, fitted by <c>Kernels.Erf.py</c>. GELU needs Φ(x) = ½ erfc(-x/√2), which this
/// gives to full relative accuracy in both tails, where PyTorch's ½ (1 + erf(x/√2)) cancels for x ≪ 0.
/// Everything is computed in double; float inputs are widened, use shorter polynomials (error ~3e-9 before
/// rounding) and are rounded once at the end, so a float result is within an ulp of the exact value.
/// Double results are within a few ulps (the tests measure it against mpmath).
/// </summary>
internal static class Erf
{
    /// <summary>A set of polynomials sized for the result's precision.</summary>
    internal interface IPrecision
    {
        static abstract double K { get; }
        static abstract double[] S { get; }
        static abstract double[] ExpTaylor { get; }
        /// <summary>Whether exp(-v²) needs v² split into an exact and a small part (double inputs; a widened float's square is exact).</summary>
        static abstract bool SplitSquare { get; }
    }

    internal readonly struct ForFloat : IPrecision
    {
        // K = 3.0, degree 12: fit error 2.9e-9, 2.5e-9 evaluated in double.
        private static readonly double[] Coefficients =
        [
            3.891751557197811e-06, 7.720413938052222e-05, -0.00010422117710741312, -0.0007261608011693134,
            0.0018882157008084247, 0.0024988226113873105, -0.023770388711381683, 0.06831669729438275,
            -0.1192736784315029, 0.1296440910249622, -0.04756229382771763, -0.13562106822069417,
            1.2530080582697296,
        ];
        private static readonly double[] Taylor = TaylorOfExp(8); // remainder below 2e-10 on |r| ≤ ln 2 / 2
        public static double K => 3.0;
        public static double[] S => Coefficients;
        public static double[] ExpTaylor => Taylor;
        public static bool SplitSquare => false;
    }

    internal readonly struct ForDouble : IPrecision
    {
        // K = 3.75, degree 24: fit error 6.4e-18, 2.7e-16 evaluated in double.
        private static readonly double[] Coefficients =
        [
            4.434959070009628e-10, 3.110310719839165e-10, -5.28428697963142e-09, -3.743568033634583e-09,
            3.8965452548985966e-08, 2.3261913276696566e-08, -2.591069687796658e-07, -5.721597255990987e-08,
            1.752057970166318e-06, -9.735619015182663e-07, -1.1444412439171722e-05, 2.2384240314224437e-05,
            5.1649211390702855e-05, -0.0002901540809795271, 0.0002937136342850081, 0.0017556258530017257,
            -0.009746579552504244, 0.028362277418940665, -0.058693398590212366, 0.09230432116037876,
            -0.10880393014171785, 0.08227673849014516, 0.003585415485463775, -0.14024059858554697,
            1.2375126308378275,
        ];
        private static readonly double[] Taylor = TaylorOfExp(13); // remainder below 5e-18
        public static double K => 3.75;
        public static double[] S => Coefficients;
        public static double[] ExpTaylor => Taylor;
        public static bool SplitSquare => true;
    }

    private const double Sqrt1_2 = 0.70710678118654752440, InvSqrt2Pi = 0.39894228040143267794, TwoOverSqrtPi = 1.1283791670955125739;
    private const double Log2E = 1.4426950408889634, Ln2 = 0.6931471805599453, Ln2Tail = 2.3190468138462996e-17; // ln 2 = Ln2 + Ln2Tail
    // ln 2 as hi + lo with hi's low 28 bits clear, so that n·hi is exact for every exponent n a double has.
    private static readonly double Ln2Hi = BitConverter.Int64BitsToDouble(BitConverter.DoubleToInt64Bits(Ln2) & ~0xFFFFFFFL);
    private static readonly double Ln2Lo = Ln2 - Ln2Hi + Ln2Tail;
    private static readonly double[] ErfTaylor = TaylorOfErf(12); // on |x| < ½ the remainder is below 1e-19

    private static double[] TaylorOfExp(int degree)
    {
        var c = new double[degree + 1];
        c[0] = 1;
        for (int k = 1; k <= degree; k++) c[k] = c[k - 1] / k;
        return c;
    }

    // erf(x) = 2/√π Σ (-1)ⁿ x²ⁿ⁺¹ / (n! (2n + 1)), as coefficients of x²ⁿ.
    private static double[] TaylorOfErf(int degree)
    {
        var c = new double[degree + 1];
        double factorial = 1;
        for (int n = 0; n <= degree; n++)
        {
            if (n > 0) factorial *= n;
            c[n] = (n % 2 == 0 ? 1 : -1) * TwoOverSqrtPi / (factorial * (2 * n + 1));
        }
        return c;
    }

    /// <summary>Σ c[k] xᵏ, <paramref name="lowestFirst"/> or highest first, by Horner's rule.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<double> Polynomial(double[] c, Vector<double> x, bool lowestFirst)
    {
        int n = c.Length;
        var p = new Vector<double>(lowestFirst ? c[n - 1] : c[0]);
        for (int k = 1; k < n; k++) p = p * x + new Vector<double>(lowestFirst ? c[n - 1 - k] : c[k]);
        return p;
    }

    /// <summary>
    /// exp(x) for x ≤ 0: x = n ln 2 + r with |r| ≤ ln 2 / 2 (Cody and Waite's two-part ln 2), a Taylor
    /// polynomial of exp(r), and 2ⁿ put into the exponent bits. Below -708 (past double's normal range) 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<double> ExpOfNonPositive<TP>(Vector<double> x) where TP : IPrecision
    {
        var clamped = Vector.MaxNative(x, new Vector<double>(-708));
        var n = Vector.Floor(clamped * Log2E + new Vector<double>(0.5));
        var r = clamped - n * Ln2Hi - n * Ln2Lo;
        var p = Polynomial(TP.ExpTaylor, r, lowestFirst: true);
        // n + 2⁵² + 1023 holds n + 1023 in its low bits: shifted into the exponent field it is 2ⁿ.
        var scale = Vector.AsVectorDouble(Vector.ShiftLeft(Vector.AsVectorInt64(n + new Vector<double>(4503599627371519.0)), 52));
        return Vector.ConditionalSelect(Vector.LessThan(x, new Vector<double>(-708)), Vector<double>.Zero, p * scale);
    }

    /// <summary>
    /// exp(-c v²) for v ≥ 0 and c = 1 or ½. In double, v² is split as h² + (v - h)(v + h) with h = ⌊16v⌋/16,
    /// whose square is exact: exp(-v²) computed from a rounded v² would carry v²'s rounding error, times v²,
    /// into the tail (Cody's CALERF does the same).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<double> ExpOfMinusSquare<TP>(Vector<double> v, double c) where TP : IPrecision
    {
        if (!TP.SplitSquare) return ExpOfNonPositive<TP>(-(v * v) * c);
        v = Vector.MinNative(v, new Vector<double>(40)); // beyond, the result is 0 either way; h keeps few bits
        var h = Vector.Floor(v * 16.0) * 0.0625;
        return ExpOfNonPositive<TP>(-(h * h) * c) * ExpOfNonPositive<TP>(-((v - h) * (v + h)) * c);
    }

    /// <summary>erfc(a) exp(a²) = S(t) / (1 + 2a) for a ≥ 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<double> ScaledErfc<TP>(Vector<double> a) where TP : IPrecision
    {
        a = Vector.MinNative(a, new Vector<double>(30)); // keeps t finite at infinity; erfc(30) is 0 in double
        var k = new Vector<double>(TP.K);
        var t = (a - k) / (a + k);
        return Polynomial(TP.S, t, lowestFirst: false) / (a * 2.0 + Vector<double>.One);
    }

    /// <summary>Φ(x), and the density's exp(-x²/2) in <paramref name="e"/>, from the tail Q = ½ erfc(|x|/√2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<double> Cdf<TP>(Vector<double> x, out Vector<double> e) where TP : IPrecision
    {
        var ax = Vector.Abs(x);
        e = ExpOfMinusSquare<TP>(ax, 0.5);
        var q = e * ScaledErfc<TP>(ax * Sqrt1_2) * 0.5;
        var cdf = Vector.ConditionalSelect(Vector.LessThan(x, Vector<double>.Zero), q, Vector<double>.One - q);
        return Vector.ConditionalSelect(Vector.Equals(x, x), cdf, x); // the clamps above would make NaN a number
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<double> GeluOf<TP>(Vector<double> x) where TP : IPrecision => x * Cdf<TP>(x, out _);

    // d/dx x Φ(x) = Φ(x) + x φ(x), φ(x) = exp(-x²/2) / √(2π).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<double> GeluGradOf<TP>(Vector<double> g, Vector<double> x) where TP : IPrecision
    {
        var cdf = Cdf<TP>(x, out var e);
        return g * (cdf + x * e * InvSqrt2Pi);
    }

    private readonly struct GeluMap<T> : IVectorMap<T> where T : unmanaged
    {
        public static Vector<T> Apply(Vector<T> x)
        {
            if (typeof(T) == typeof(double)) return Vector.As<double, T>(GeluOf<ForDouble>(Vector.As<T, double>(x)));
            Vector.Widen(Vector.As<T, float>(x), out var lo, out var hi);
            return Vector.As<float, T>(Vector.Narrow(GeluOf<ForFloat>(lo), GeluOf<ForFloat>(hi)));
        }
    }

    private readonly struct GeluGradMap<T> : IVectorMap2<T> where T : unmanaged
    {
        public static Vector<T> Apply(Vector<T> g, Vector<T> x)
        {
            if (typeof(T) == typeof(double)) return Vector.As<double, T>(GeluGradOf<ForDouble>(Vector.As<T, double>(g), Vector.As<T, double>(x)));
            Vector.Widen(Vector.As<T, float>(g), out var glo, out var ghi);
            Vector.Widen(Vector.As<T, float>(x), out var xlo, out var xhi);
            return Vector.As<float, T>(Vector.Narrow(GeluGradOf<ForFloat>(glo, xlo), GeluGradOf<ForFloat>(ghi, xhi)));
        }
    }

    /// <summary>y = x Φ(x), PyTorch's exact GELU.</summary>
    public static void Gelu<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Supported<T>();
        Lanes.Map<T, GeluMap<T>>(x, y);
    }

    /// <summary>d = g (Φ(x) + x φ(x)), GELU's backward.</summary>
    public static void GeluBackward<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Supported<T>();
        if (g.Length != d.Length || x.Length != d.Length)
            throw new ShapeException($"GELU's backward needs equal shapes, got {g.Length}, {x.Length} and {d.Length} elements");
        Lanes.Map<T, GeluGradMap<T>>(g, x, d);
    }

    private static void Supported<T>()
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double)) throw new NotSupportedException($"GELU is computed for float and double, not {typeof(T).Name}");
    }

    // Scalar forms, through the same vector code: for the tests and for anyone who needs erf.

    /// <summary>The standard normal distribution function Φ(x).</summary>
    public static double NormalCdf(double x) => Cdf<ForDouble>(new Vector<double>(x), out _)[0];

    /// <summary>erfc(x) = 1 - erf(x), to full relative accuracy for x &gt; 0 too.</summary>
    public static double Erfc(double x)
    {
        if (double.IsNaN(x)) return x;
        var a = new Vector<double>(Math.Abs(x));
        double tail = (ExpOfMinusSquare<ForDouble>(a, 1.0) * ScaledErfc<ForDouble>(a))[0];
        return x < 0 ? 2 - tail : tail;
    }

    /// <summary>erf(x): its Taylor series near 0, where 1 - erfc(x) would lose relative accuracy, 1 - erfc(x) beyond.</summary>
    public static double Of(double x)
    {
        if (Math.Abs(x) >= 0.5) return Math.CopySign(1 - Erfc(Math.Abs(x)), x);
        return x * Polynomial(ErfTaylor, new Vector<double>(x * x), lowestFirst: true)[0];
    }
}
