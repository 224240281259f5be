using DistributedBackprop.Core;

namespace DistributedBackprop.Data;

/// <summary>The notebook's data: x uniform in [0, 1), y = 4 sin(πx) cos(6πx²), one feature, one target.</summary>
public static class NotebookRegression
{
    public static float Target(float x) => 4 * MathF.Sin(MathF.PI * x) * MathF.Cos(6 * MathF.PI * x * x);

    public static Dataset Create(int samples, int seed)
    {
        if (samples <= 0) throw new DataException($"the regression needs a positive number of samples, not {samples}");
        var rng = Rng.For(seed, "data");
        var x = new float[samples];
        for (int i = 0; i < samples; i++) x[i] = (float)rng.NextDouble();
        var y = x.Select(Target).ToArray();
        return new Dataset(x, [samples, 1], y, [samples, 1]);
    }
}
