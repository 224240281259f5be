using System.Globalization;
using System.Text.RegularExpressions;
using DistributedBackprop.Core;

namespace DistributedBackprop.Cli;

/// <summary>Values for variables from <c>--at x=2,y=4</c>, in the order given.</summary>
public static partial class Bindings
{
    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex Identifier();

    public static List<(string Name, double Value)> Parse(IEnumerable<string> items)
    {
        var result = new List<(string, double)>();
        foreach (var item in items.SelectMany(s => s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)))
        {
            int eq = item.IndexOf('=');
            if (eq < 0) throw new UsageException($"--at: '{item}' is not of the form name=value");
            var name = item[..eq].Trim();
            var text = item[(eq + 1)..].Trim();
            if (!Identifier().IsMatch(name)) throw new UsageException($"--at: '{name}' is not a variable name");
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                throw new UsageException($"--at: '{text}' is not a number (for {name})");
            if (result.Any(b => b.Item1 == name)) throw new UsageException($"--at: {name} is given twice");
            result.Add((name, value));
        }
        return result;
    }

    public static Dictionary<string, Tensor<double>> ToTensors(List<(string Name, double Value)> at) =>
        at.ToDictionary(b => b.Name, b => Tensor<double>.Scalar(b.Value));

    /// <summary>Evaluates with an error that says how to give a missing variable its value.</summary>
    public static Gradients<double> Gradients(Expr output, Dictionary<string, Tensor<double>> at)
    {
        try { return Backprop.Gradients(output, at); }
        catch (UnboundVariableException e) { throw new UsageException($"variable '{e.Name}' has no value: give it with --at {e.Name}=..."); }
    }
}
