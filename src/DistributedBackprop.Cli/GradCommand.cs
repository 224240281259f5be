using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using DistributedBackprop.Core;

namespace DistributedBackprop.Cli;

/// <summary><c>dbp grad</c>: the value of a small program and its gradient (and Hessian) at a point.</summary>
public static class GradCommand
{
    public static readonly Argument<string> ProgramArgument = new("PROGRAM")
    {
        Description = "definitions 'name = expr;' and/or a final expression, e.g. \"z1 = exp(-y); z2 = 1 + x^2 + y^2; z3 = x^3; z4 = 6*z1/z2 + 2*z3\"",
    };

    public static Option<string[]> AtOption() => new("--at")
    {
        Description = "variable values: numbers or nested lists, e.g. x=2,y=4 or x=[1,2,3] or w=[[1,2],[3,4]]",
        AllowMultipleArgumentsPerToken = false,
        Arity = ArgumentArity.ZeroOrMore,
    };

    /// <summary>The Jacobian of a tensor output has output × variable entries: keep it to what a table or a line can hold.</summary>
    private const long MaxJacobianEntries = 1_000_000;

    public static Command Create()
    {
        var at = AtOption();
        var order = new Option<int>("--order") { Description = "1: gradients; 2: also the Hessian over the --at variables", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "end with one JSON line {\"value\", \"gradients\", \"hessian\"}; for a tensor output {\"value\", \"jacobian\"}" };
        var precision = new Option<int>("--precision") { Description = "decimals in the table", DefaultValueFactory = _ => 4 };
        var command = new Command("grad", "Value and gradients of a small expression program at a point: with respect to every variable in --at and every named definition; for a tensor output, the Jacobians")
        {
            ProgramArgument, at, order, json, precision,
        };
        command.SetAction(r => Run(r.GetValue(ProgramArgument)!, r.GetValue(at) ?? [], r.GetValue(order), r.GetValue(json), r.GetValue(precision)));
        return command;
    }

    private static int Run(string text, string[] atItems, int order, bool json, int precision)
    {
        if (order is not (1 or 2)) throw new UsageException($"--order must be 1 or 2, not {order}");
        if (precision is < 0 or > 15) throw new UsageException($"--precision must be between 0 and 15, not {precision}");
        var program = ExpressionParser.Parse(text);
        var at = Bindings.Parse(atItems);
        Bindings.Check(program, at);
        var values = Bindings.ToTensors(at);
        var result = Backprop.Gradients(program.Output, values);
        var value = result.Value();
        var outputName = program.OutputName ?? "f";

        // With respect to every --at variable (0 where the output does not use it) and every named definition.
        var wrt = Bindings.Nodes(program, at).Zip(at, (node, b) => (b.Name, Node: node))
            .Concat(program.Definitions.Select(d => (d.Name, Node: d.Value))).ToList();
        var vars = at.Select(b => b.Name).ToList();
        if (value.Rank > 0)
        {
            if (order == 2) throw new UsageException($"--order 2 needs a scalar output; {outputName} has shape {Shapes.Format(value.Shape)}");
            long entries = wrt.Sum(w => (long)value.Length * result.ValueOf(w.Node).Length);
            if (entries > MaxJacobianEntries)
                throw new UsageException($"the Jacobians of {outputName} would have {entries:N0} entries, more than {MaxJacobianEntries:N0}: reduce the output, e.g. sum(...)");
            var jacobians = Backprop.Jacobian(program.Output, wrt.Select(w => w.Node).ToList(), values);
            var rows = wrt.Select((w, k) => (w.Name, jacobians[k])).ToList();
            if (json) Json.Line(w => { Json.Tensor(w, "value", value); WriteObject(w, "jacobian", rows); });
            else WriteJacobians(outputName, value, rows, precision);
            return 0;
        }

        var gradients = wrt.Select(w => (w.Name, result.OfOrZero(w.Node))).ToList();
        var hessian = order == 2 ? Backprop.Hessian(program.Output, vars, values) : null;
        if (json) WriteJson(value.Item(), gradients, vars, hessian);
        else WriteTable(outputName, value.Item(), gradients, vars, hessian, precision);
        return 0;
    }

    private static void WriteTable(string output, double value, List<(string Name, Tensor<double> Gradient)> rows, List<string> vars, double[,]? hessian, int precision)
    {
        string F(double v) => TensorText.Number(v, precision);
        var labels = rows.Select(r => $"d{output}/d{r.Name}").ToList();
        int width = Math.Max(8, labels.Select(l => l.Length).DefaultIfEmpty(0).Max()) + 2;
        Console.WriteLine($"{output} = {F(value)}");
        if (rows.Count > 0) Console.WriteLine("\n" + "gradient".PadLeft(width + 12));
        for (int i = 0; i < rows.Count; i++)
        {
            var g = rows[i].Gradient;
            // A scalar's gradient right-aligned in the column; a tensor's as nested rows, its own shape.
            Console.WriteLine(labels[i].PadRight(width) + (g.Rank == 0 ? F(g.Item()).PadLeft(12) : TensorText.Format(g, precision, width)));
        }
        if (hessian is null) return;
        Console.WriteLine();
        Console.WriteLine($"Hessian of {output}");
        int col = Math.Max(12, precision + 8);
        Console.WriteLine("".PadRight(width) + string.Concat(vars.Select(v => v.PadLeft(col))));
        for (int i = 0; i < vars.Count; i++)
            Console.WriteLine(vars[i].PadRight(width) + string.Concat(Enumerable.Range(0, vars.Count).Select(j => F(hessian[i, j]).PadLeft(col))));
    }

    private static void WriteJacobians(string output, Tensor<double> value, List<(string Name, Tensor<double> Jacobian)> rows, int precision)
    {
        var prefix = $"{output} = ";
        Console.WriteLine(prefix + TensorText.Format(value, precision, prefix.Length) + $"   shape {Shapes.Format(value.Shape)}");
        foreach (var (name, j) in rows)
        {
            // Entry [i..., k...] is d output[i...] / d name[k...]: the output's axes first.
            Console.WriteLine($"\nd{output}/d{name}: Jacobian {Shapes.Format(j.Shape)} ({output}'s shape, then {name}'s)");
            Console.WriteLine(TensorText.Format(j, precision));
        }
    }

    private static void WriteObject(System.Text.Json.Utf8JsonWriter w, string name, List<(string Name, Tensor<double> Value)> rows)
    {
        w.WriteStartObject(name);
        foreach (var (key, t) in rows) Json.Tensor(w, key, t);
        w.WriteEndObject();
    }

    private static void WriteJson(double value, List<(string Name, Tensor<double> Gradient)> rows, List<string> vars, double[,]? hessian) => Json.Line(w =>
    {
        Json.Number(w, "value", value);
        WriteObject(w, "gradients", rows);
        if (hessian is null) return;
        w.WriteStartObject("hessian");
        for (int i = 0; i < vars.Count; i++)
        {
            w.WriteStartObject(vars[i]);
            for (int j = 0; j < vars.Count; j++) Json.Number(w, vars[j], hessian[i, j]);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    });
}
