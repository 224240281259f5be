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
        Description = "variable values, e.g. x=2,y=4",
        AllowMultipleArgumentsPerToken = false,
        Arity = ArgumentArity.ZeroOrMore,
    };

    public static Command Create()
    {
        var at = AtOption();
        var order = new Option<int>("--order") { Description = "1: gradients; 2: also the Hessian over the --at variables", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "end with one JSON line {\"value\", \"gradients\", \"hessian\"}" };
        var precision = new Option<int>("--precision") { Description = "decimals in the table", DefaultValueFactory = _ => 4 };
        var command = new Command("grad", "Value and gradients of a small expression program at a point: with respect to every variable in --at and every named definition")
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
        foreach (var (name, _) in at)
            if (program.Definitions.Any(d => d.Name == name))
                throw new UsageException($"--at: {name} is defined by the program, it is not a variable");
        var values = Bindings.ToTensors(at);
        var result = Bindings.Gradients(program.Output, values);

        var rows = new List<(string Name, double Gradient)>();
        foreach (var (name, _) in at)
        {
            var node = program.Variables.FirstOrDefault(v => v.Name == name);
            rows.Add((name, node is null ? 0 : result.OfOrZero(node).Item()));
        }
        foreach (var (name, node) in program.Definitions) rows.Add((name, result.OfOrZero(node).Item()));
        var hessian = order == 2 ? Backprop.Hessian(program.Output, at.Select(b => b.Name).ToList(), values) : null;
        var outputName = program.OutputName ?? "f";
        double value = result.Value().Item();

        if (json) WriteJson(value, rows, at.Select(b => b.Name).ToList(), hessian);
        else WriteTable(outputName, value, rows, at.Select(b => b.Name).ToList(), hessian, precision);
        return 0;
    }

    private static void WriteTable(string output, double value, List<(string Name, double Gradient)> rows, List<string> vars, double[,]? hessian, int precision)
    {
        string F(double v) => v.ToString("F" + precision, CultureInfo.InvariantCulture);
        var labels = rows.Select(r => $"d{output}/d{r.Name}").ToList();
        int width = Math.Max(8, labels.Select(l => l.Length).DefaultIfEmpty(0).Max()) + 2;
        Console.WriteLine($"{output} = {F(value)}");
        if (rows.Count > 0) Console.WriteLine("\n" + "gradient".PadLeft(width + 12));
        for (int i = 0; i < rows.Count; i++) Console.WriteLine(labels[i].PadRight(width) + F(rows[i].Gradient).PadLeft(12));
        if (hessian is null) return;
        Console.WriteLine();
        Console.WriteLine($"Hessian of {output}");
        int col = Math.Max(12, precision + 8);
        Console.WriteLine("".PadRight(width) + string.Concat(vars.Select(v => v.PadLeft(col))));
        for (int i = 0; i < vars.Count; i++)
            Console.WriteLine(vars[i].PadRight(width) + string.Concat(Enumerable.Range(0, vars.Count).Select(j => F(hessian[i, j]).PadLeft(col))));
    }

    private static void WriteJson(double value, List<(string Name, double Gradient)> rows, List<string> vars, double[,]? hessian)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            Json.Number(w, "value", value);
            w.WriteStartObject("gradients");
            foreach (var (name, g) in rows) Json.Number(w, name, g);
            w.WriteEndObject();
            if (hessian is not null)
            {
                w.WriteStartObject("hessian");
                for (int i = 0; i < vars.Count; i++)
                {
                    w.WriteStartObject(vars[i]);
                    for (int j = 0; j < vars.Count; j++) Json.Number(w, vars[j], hessian[i, j]);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        Console.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }
}
