namespace DistributedBackprop.Core;

/// <summary>
/// Checks the engine against central finite differences in double precision, along random directions in
/// the space of all variables that require gradients, for a random projection of the output.
/// </summary>
public static class GradCheck
{
    /// <summary>Whether the worst relative error along the directions was within the tolerance, and where it was.</summary>
    /// <param name="Passed">The worst error is at most the tolerance.</param>
    /// <param name="WorstRelativeError">|engine - numeric| / max(1, |engine|, |numeric|), the largest over the directions.</param>
    /// <param name="Detail">The direction of the worst error, with both estimates.</param>
    public sealed record Result(bool Passed, double WorstRelativeError, string Detail);

    /// <summary>
    /// Compares the engine's directional derivative of r·output (r random) with central differences of step
    /// <paramref name="epsilon"/> along <paramref name="directions"/> random directions of all variables that require
    /// gradients; passes when every relative error is at most <paramref name="tolerance"/>.
    /// </summary>
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

    /// <summary>One variable's Jacobian by the engine and by central differences, and their worst relative difference.</summary>
    /// <param name="Name">The variable.</param>
    /// <param name="Engine">The engine's Jacobian, of shape output ++ variable.</param>
    /// <param name="FiniteDifferences">The same by central differences.</param>
    /// <param name="WorstRelativeError">The largest relative difference of an element.</param>
    /// <param name="Passed">The largest is within the tolerance.</param>
    public sealed record VariableResult(string Name, Tensor<double> Engine, Tensor<double> FiniteDifferences, double WorstRelativeError, bool Passed);

    /// <summary>
    /// Checks, element by element, the Jacobian of <paramref name="output"/> with respect to each named variable
    /// (of shape output ++ variable; a scalar output's is its gradient) against central differences: two
    /// evaluations per element of each variable. The error of an element is |engine - numeric| / max(1, |engine|,
    /// |numeric|), as in <see cref="Check"/>; a variable passes when its worst element is within
    /// <paramref name="tolerance"/> (a NaN fails). A variable the output does not use has a Jacobian of zeros.
    /// </summary>
    public static IReadOnlyList<VariableResult> Jacobians(Expr output, IReadOnlyDictionary<string, Tensor<double>> at,
        IReadOnlyList<string> variables, double epsilon = 1e-6, double tolerance = 1e-6)
    {
        var byName = Graph.TopologicalOrder([output]).OfType<Op.Variable>().ToDictionary(v => v.Name);
        var engine = Backprop.Jacobian(output, variables.Select(n => byName.GetValueOrDefault(n) ?? Expr.Variable(n)).ToList(), at);
        var results = new List<VariableResult>();
        for (int k = 0; k < variables.Count; k++)
        {
            var x = at[variables[k]];
            var numeric = new double[engine[k].Length];
            for (int j = 0; j < x.Length; j++)
            {
                var plus = Backprop.Evaluate(output, Nudge(at, variables[k], j, epsilon));
                var minus = Backprop.Evaluate(output, Nudge(at, variables[k], j, -epsilon));
                for (int i = 0; i < plus.Length; i++) numeric[i * x.Length + j] = (plus.Buffer[i] - minus.Buffer[i]) / (2 * epsilon);
            }
            double worst = 0;
            for (int e = 0; e < numeric.Length; e++)
            {
                double a = engine[k].Buffer[e], n = numeric[e];
                worst = Math.Max(worst, Math.Abs(a - n) / Math.Max(1.0, Math.Max(Math.Abs(a), Math.Abs(n))));
            }
            results.Add(new VariableResult(variables[k], engine[k], new Tensor<double>(numeric, engine[k].Dims), worst, worst <= tolerance));
        }
        return results;
    }

    private static Dictionary<string, Tensor<double>> Nudge(IReadOnlyDictionary<string, Tensor<double>> at, string name, int element, double step)
    {
        var shifted = new Dictionary<string, Tensor<double>>(at);
        var data = at[name].ToArray();
        data[element] += step;
        shifted[name] = new Tensor<double>(data, at[name].Dims);
        return shifted;
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
