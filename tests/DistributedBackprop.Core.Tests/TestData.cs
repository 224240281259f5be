using DistributedBackprop.Core;

namespace DistributedBackprop.Core.Tests;

internal static class TestData
{
    /// <summary>Seeded uniform values in [lo, hi), as a double tensor of the given shape.</summary>
    public static Tensor<double> Uniform(int seed, double lo, double hi, params int[] shape)
    {
        var rng = new Random(seed);
        var data = new double[Shapes.Size(shape)];
        for (int i = 0; i < data.Length; i++) data[i] = lo + (hi - lo) * rng.NextDouble();
        return Tensor<double>.FromArray(data, shape);
    }

    public static Dictionary<string, Tensor<double>> At(params (string Name, Tensor<double> Value)[] values) =>
        values.ToDictionary(v => v.Name, v => v.Value);

    public delegate void FloatMap(ReadOnlySpan<float> x, Span<float> y);

    /// <summary>A vector kernel gives an element the same bits wherever it sits (slices whose tails fall elsewhere) and in place.</summary>
    public static void AssertPositionIndependent(FloatMap f, float[] xs)
    {
        var all = new float[xs.Length];
        f(xs, all);
        for (int start = 0; start < xs.Length; start += 5)
        {
            var part = new float[xs.Length - start];
            f(xs.AsSpan(start), part);
            Assert.Equal(all[start..], part);
        }
        var inPlace = (float[])xs.Clone();
        f(inPlace, inPlace);
        Assert.Equal(all, inPlace);
    }

    public static void AssertClose(double expected, double actual, double relative = 1e-9, string? what = null)
    {
        double scale = Math.Max(1e-12, Math.Max(Math.Abs(expected), Math.Abs(actual)));
        Assert.True(Math.Abs(expected - actual) <= relative * scale || Math.Abs(expected - actual) < 1e-15,
            $"{what}: expected {expected:R}, got {actual:R}");
    }
}
