using System.CommandLine;
using System.Globalization;
using DistributedBackprop.Core;

namespace DistributedBackprop.Cli;

/// <summary>
/// <c>dbp gradcheck</c>: the engine's gradients of a program against central finite differences, element by
/// element, for every --at variable; exit 1 where any is off by more than the tolerance.
/// </summary>
public static class GradCheckCommand
{
    public static Command Create()
    {
        var at = GradCommand.AtOption();
        var epsilon = new Option<double>("--eps") { Description = "the finite-difference step", DefaultValueFactory = _ => 1e-6 };
        var tolerance = new Option<double>("--tolerance") { Description = "the largest relative error that passes: |engine - numeric| / max(1, |engine|, |numeric|)", DefaultValueFactory = _ => 1e-6 };
        var json = new Option<bool>("--json") { Description = "end with one JSON line {\"passed\", \"epsilon\", \"tolerance\", \"variables\": {name: {\"engine\", \"finite_differences\", \"error\", \"passed\"}}}" };
        var precision = new Option<int>("--precision") { Description = "decimals in the table", DefaultValueFactory = _ => 6 };
        var command = new Command("gradcheck", "Checks the engine's gradients of a program (Jacobians, for a tensor output) against central finite differences at a point, element by element; exit 1 on a mismatch")
        {
            GradCommand.ProgramArgument, at, epsilon, tolerance, json, precision,
        };
        command.SetAction(r => Run(r.GetValue(GradCommand.ProgramArgument)!, r.GetValue(at) ?? [], r.GetValue(epsilon), r.GetValue(tolerance), r.GetValue(json), r.GetValue(precision)));
        return command;
    }

    private static int Run(string text, string[] atItems, double epsilon, double tolerance, bool json, int precision)
    {
        if (!(epsilon > 0 && double.IsFinite(epsilon))) throw new UsageException($"--eps must be a positive number, not {epsilon.ToString(CultureInfo.InvariantCulture)}");
        if (!(tolerance >= 0 && double.IsFinite(tolerance))) throw new UsageException($"--tolerance must be 0 or more, not {tolerance.ToString(CultureInfo.InvariantCulture)}");
        if (precision is < 0 or > 15) throw new UsageException($"--precision must be between 0 and 15, not {precision}");
        var program = ExpressionParser.Parse(text);
        var at = Bindings.Parse(atItems);
        Bindings.Check(program, at);
        var results = GradCheck.Jacobians(program.Output, Bindings.ToTensors(at), at.Select(b => b.Name).ToList(), epsilon, tolerance);
        bool passed = results.All(r => r.Passed);

        if (json) Json.Line(w =>
        {
            w.WriteBoolean("passed", passed);
            Json.Number(w, "epsilon", epsilon);
            Json.Number(w, "tolerance", tolerance);
            w.WriteStartObject("variables");
            foreach (var r in results)
            {
                w.WriteStartObject(r.Name);
                Json.Tensor(w, "engine", r.Engine);
                Json.Tensor(w, "finite_differences", r.FiniteDifferences);
                Json.Number(w, "error", r.WorstRelativeError);
                w.WriteBoolean("passed", r.Passed);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        });
        else WriteTable(program.OutputName ?? "f", results, epsilon, tolerance, precision);

        if (passed) return 0;
        var failed = results.Where(r => !r.Passed).Select(r => $"{r.Name} (error {Error(r.WorstRelativeError)})");
        Console.Error.WriteLine($"dbp: gradcheck failed for {string.Join(", ", failed)}: more than the tolerance {Error(tolerance)}");
        return 1;
    }

    private static string Error(double e) => e.ToString("0.0E+00", CultureInfo.InvariantCulture);

    private static void WriteTable(string output, IReadOnlyList<GradCheck.VariableResult> results, double epsilon, double tolerance, int precision)
    {
        Console.WriteLine($"gradcheck of {output}: the engine against central differences (step {Error(epsilon)}), tolerance {Error(tolerance)}");
        if (results.Count == 0) { Console.WriteLine("\nno variables to check"); return; }
        var labels = results.Select(r => $"d{output}/d{r.Name}").ToList();
        int width = Math.Max(8, labels.Max(l => l.Length)) + 2, col = Math.Max(12, precision + 8);
        string Verdict(GradCheck.VariableResult r) => Error(r.WorstRelativeError).PadLeft(10) + (r.Passed ? "   ok" : "   FAILED");
        Console.WriteLine("\n" + "".PadRight(width) + "engine".PadLeft(col) + "finite differences".PadLeft(Math.Max(col, 20)) + "error".PadLeft(10));
        for (int i = 0; i < results.Count; i++)
        {
            var r = results[i];
            if (r.Engine.Rank == 0)
            {
                Console.WriteLine(labels[i].PadRight(width) + TensorText.Number(r.Engine.Item(), precision).PadLeft(col)
                    + TensorText.Number(r.FiniteDifferences.Item(), precision).PadLeft(Math.Max(col, 20)) + Verdict(r));
                continue;
            }
            // A tensor's Jacobian (its gradient, for a scalar output) below its row, engine first.
            const string engine = "  engine              ", numeric = "  finite differences  ";
            Console.WriteLine(labels[i].PadRight(width) + Shapes.Format(r.Engine.Shape).PadLeft(col + Math.Max(col, 20)) + Verdict(r));
            Console.WriteLine(engine + TensorText.Format(r.Engine, precision, engine.Length));
            Console.WriteLine(numeric + TensorText.Format(r.FiniteDifferences, precision, numeric.Length));
        }
        int ok = results.Count(r => r.Passed);
        Console.WriteLine($"\n{(ok == results.Count ? "passed" : "FAILED")}: {ok} of {results.Count} variables within the tolerance");
    }
}
