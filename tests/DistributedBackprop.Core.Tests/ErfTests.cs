using System.Text.Json;
using DistributedBackprop.Core;

namespace DistributedBackprop.Core.Tests;

/// <summary>
/// erf, erfc, Φ and GELU against mpmath's values at 40 digits (recorded in Reference/torch_reference.json),
/// measured in units in the last place of the exact value.
/// </summary>
public class ErfTests
{
    private static readonly JsonElement Special = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Reference", "torch_reference.json"))).RootElement.GetProperty("special");

    private static double[] Values(string name) => Special.GetProperty(name).EnumerateArray().Select(e => e.GetDouble()).ToArray();

    /// <summary>
    /// |actual - exact| in ulps of exact. Below double's normal range (2.2e-308) the exp in the tails flushes
    /// to 0: there any result within the smallest normal of the exact one counts as exact.
    /// </summary>
    private static double Ulps(double exact, double actual)
    {
        if (Math.Abs(exact) < 2.2250738585072014e-308)
            return Math.Abs(actual - exact) <= 2.2250738585072014e-308 ? 0 : double.PositiveInfinity;
        return Math.Abs(actual - exact) / (Math.BitIncrement(Math.Abs(exact)) - Math.Abs(exact));
    }

    private static double Ulps(float exact, float actual)
    {
        float magnitude = Math.Max(Math.Abs(exact), 1.17549435e-38f);
        return Math.Abs((double)actual - exact) / (MathF.BitIncrement(magnitude) - magnitude);
    }

    private static void AssertWithin(double ulps, string name, Func<double, double> f)
    {
        var xs = Values("x");
        var expected = Values(name);
        var worst = xs.Select((x, i) => (Ulps(expected[i], f(x)), x)).MaxBy(p => p.Item1);
        Assert.True(worst.Item1 <= ulps, $"{name}: {worst.Item1:F2} ulps at x = {worst.x:R}");
    }

    [Fact]
    public void Erf_is_within_two_ulps() => AssertWithin(2, "erf", Erf.Of);

    [Fact]
    public void Erfc_is_within_four_ulps_down_to_the_end_of_double_range() => AssertWithin(4, "erfc", Erf.Erfc);

    [Fact]
    public void The_normal_distribution_function_is_within_four_ulps_in_both_tails() => AssertWithin(4, "normal_cdf", Erf.NormalCdf);

    [Fact]
    public void Double_gelu_and_its_derivative_are_within_four_ulps()
    {
        var xs = Values("x");
        var y = new double[xs.Length];
        Erf.Gelu<double>(xs, y);
        var d = new double[xs.Length];
        Erf.GeluBackward<double>(Enumerable.Repeat(1.0, xs.Length).ToArray(), xs, d);
        var (gelu, grad, cdf) = (Values("gelu"), Values("gelu_grad"), Values("normal_cdf"));
        for (int i = 0; i < xs.Length; i++)
        {
            Assert.True(Ulps(gelu[i], y[i]) <= 4, $"gelu({xs[i]:R}) = {y[i]:R}, exact {gelu[i]:R}");
            // Φ(x) + x φ(x) cancels near its zero (x ≈ -0.75), as in PyTorch: measured in ulps of the larger term.
            double scale = Math.Max(Math.Abs(cdf[i]), Math.Abs(grad[i] - cdf[i]));
            Assert.True(Ulps(scale, scale + Math.Abs(d[i] - grad[i])) <= 4, $"gelu'({xs[i]:R}) = {d[i]:R}, exact {grad[i]:R}");
        }
    }

    [Fact]
    public void Float_gelu_and_its_derivative_are_within_one_ulp_of_the_exact_values()
    {
        var xs = Values("float_x").Select(v => (float)v).ToArray();
        var y = new float[xs.Length];
        Erf.Gelu<float>(xs, y);
        var d = new float[xs.Length];
        Erf.GeluBackward<float>(Enumerable.Repeat(1f, xs.Length).ToArray(), xs, d);
        var (gelu, grad) = (Values("float_gelu"), Values("float_gelu_grad"));
        for (int i = 0; i < xs.Length; i++)
        {
            Assert.True(Ulps((float)gelu[i], y[i]) <= 1, $"gelu({xs[i]:R}) = {y[i]:R}, exact {gelu[i]:R}");
            Assert.True(Ulps((float)grad[i], d[i]) <= 1, $"gelu'({xs[i]:R}) = {d[i]:R}, exact {grad[i]:R}");
        }
    }

    [Fact]
    public void Limits_signs_and_nan()
    {
        Assert.Equal(0, Erf.Of(0));
        Assert.Equal(1, Erf.Of(double.PositiveInfinity));
        Assert.Equal(-1, Erf.Of(double.NegativeInfinity));
        Assert.Equal(0, Erf.Erfc(30));
        Assert.Equal(2, Erf.Erfc(-30));
        Assert.Equal(0.5, Erf.NormalCdf(0));
        Assert.Equal(1, Erf.NormalCdf(40));
        Assert.Equal(0, Erf.NormalCdf(-40));
        Assert.True(double.IsNaN(Erf.Of(double.NaN)) && double.IsNaN(Erf.Erfc(double.NaN)) && double.IsNaN(Erf.NormalCdf(double.NaN)));
        var y = new float[3];
        Erf.Gelu<float>([float.PositiveInfinity, float.NaN, -20f], y);
        Assert.Equal([float.PositiveInfinity, float.NaN, -0f], y);
    }

    [Fact]
    public void A_float_element_gets_the_same_bits_wherever_it_sits_and_in_place()
        => TestData.AssertPositionIndependent(Erf.Gelu<float>, Enumerable.Range(0, 37).Select(i => (float)(-6 + i / 3.0)).ToArray());
}
