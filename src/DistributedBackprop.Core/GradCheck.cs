namespace DistributedBackprop.Core;

/// <summary>
/// Checks the engine against central finite differences in double precision, along random directions in
/// the space of all variables that require gradients, for a random projection of the output.
/// </summary>
public static class GradCheck
{
    public sealed record Result(bool Passed, double WorstRelativeError, string Detail);

    public static Result Check(Expr output, IReadOnlyDictionary<string, Tensor<double>> at, int directions = 4,
        double epsilon = 1e-6, double tolerance = 1e-6, int seed = 1)
    {
        var rng = new Random(seed);
        var value = Backprop.Evaluate(output, at);
        // A random projection r·f makes every output element count, whatever the output's shape.
        var projection = Expr.Constant(Random(value.Dims, rng));
        var scalar = Expr.Sum(output * projection);
        var grads = Backprop.Gradients(scalar, at);
        var variables = Graph.TopologicalOrder([output]).OfType<Op.Variable>().Where(v => v.RequiresGrad).ToList();

        double worst = 0;
        string detail = "no variable requires a gradient";
        for (int d = 0; d < directions; d++)
        {
            var dir = variables.ToDictionary(v => v.Name, v => Random(at[v.Name].Dims, rng));
            double analytic = variables.Sum(v => Dot(grads.OfOrZero(v), dir[v.Name]));
            double plus = Backprop.Evaluate(scalar, Shift(at, dir, epsilon)).Item();
            double minus = Backprop.Evaluate(scalar, Shift(at, dir, -epsilon)).Item();
            double numeric = (plus - minus) / (2 * epsilon);
            double error = Math.Abs(analytic - numeric) / Math.Max(1.0, Math.Max(Math.Abs(analytic), Math.Abs(numeric)));
            if (error >= worst) { worst = error; detail = $"direction {d}: engine {analytic:R}, finite differences {numeric:R}"; }
        }
        return new Result(worst <= tolerance, worst, detail);
    }

    private static Tensor<double> Random(int[] shape, Random rng)
    {
        var data = new double[Shapes.Size(shape)];
        for (int i = 0; i < data.Length; i++) data[i] = rng.NextDouble() * 2 - 1;
        return new Tensor<double>(data, shape);
    }

    private static double Dot(Tensor<double> a, Tensor<double> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a.Buffer[i] * b.Buffer[i];
        return s;
    }

    private static Dictionary<string, Tensor<double>> Shift(IReadOnlyDictionary<string, Tensor<double>> at,
        Dictionary<string, Tensor<double>> dir, double step) =>
        at.ToDictionary(kv => kv.Key, kv => !dir.TryGetValue(kv.Key, out var d) ? kv.Value
            : new Tensor<double>(kv.Value.Buffer.Select((x, i) => x + step * d.Buffer[i]).ToArray(), kv.Value.Dims));
}
