using System.Globalization;
using System.Text.RegularExpressions;
using DistributedBackprop.Core;

namespace DistributedBackprop.Cli;

/// <summary>
/// Values for variables from <c>--at x=2,y=4</c>, in the order given: a number is a scalar, a bracketed list a
/// tensor — <c>x=[1,2,3]</c> a vector, <c>w=[[1,2],[3,4]]</c> a matrix, nested as deep as wanted.
/// </summary>
public static partial class Bindings
{
    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex Identifier();

    public static List<(string Name, Tensor<double> Value)> Parse(IEnumerable<string> items)
    {
        var result = new List<(string, Tensor<double>)>();
        foreach (var item in items.SelectMany(SplitOutsideBrackets))
        {
            int eq = item.IndexOf('=');
            if (eq < 0) throw new UsageException($"--at: '{item}' is not of the form name=value");
            var name = item[..eq].Trim();
            var text = item[(eq + 1)..].Trim();
            if (!Identifier().IsMatch(name)) throw new UsageException($"--at: '{name}' is not a variable name");
            var value = text.StartsWith('[') ? new ListReader(name, text).Read() : Tensor<double>.Scalar(Number(name, text));
            if (result.Any(b => b.Item1 == name)) throw new UsageException($"--at: {name} is given twice");
            result.Add((name, value));
        }
        return result;
    }

    public static Dictionary<string, Tensor<double>> ToTensors(List<(string Name, Tensor<double> Value)> at) =>
        at.ToDictionary(b => b.Name, b => b.Value);

    /// <summary>
    /// Refuses a value for a name the program defines, and a program variable with no value, saying how to give it.
    /// </summary>
    public static void Check(ExprProgram program, List<(string Name, Tensor<double> Value)> at)
    {
        foreach (var (name, _) in at)
            if (program.Definitions.Any(d => d.Name == name))
                throw new UsageException($"--at: {name} is defined by the program, it is not a variable");
        foreach (var v in program.Variables)
            if (!at.Any(b => b.Name == v.Name))
                throw new UsageException($"variable '{v.Name}' has no value: give it with --at {v.Name}=...");
    }

    /// <summary>The program's node for each --at variable; a fresh variable for one the program does not use.</summary>
    public static List<Expr> Nodes(ExprProgram program, List<(string Name, Tensor<double> Value)> at) =>
        at.Select(b => (Expr?)program.Variables.FirstOrDefault(v => v.Name == b.Name) ?? Expr.Variable(b.Name)).ToList();

    /// <summary>Splits at commas that are not inside brackets: <c>x=[1,2],y=3</c> is two items.</summary>
    private static IEnumerable<string> SplitOutsideBrackets(string text)
    {
        int depth = 0, start = 0;
        for (int i = 0; i <= text.Length; i++)
        {
            if (i < text.Length && text[i] == '[') depth++;
            else if (i < text.Length && text[i] == ']') depth = Math.Max(0, depth - 1);
            else if (i == text.Length || (text[i] == ',' && depth == 0))
            {
                var item = text[start..i].Trim();
                if (item.Length > 0) yield return item;
                start = i + 1;
            }
        }
    }

    private static double Number(string name, string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value
        : throw new UsageException($"--at: '{text}' is not a number (for {name})");

    /// <summary>Reads a nested list such as <c>[[1,2],[3,4]]</c> into a tensor, refusing ragged and malformed ones.</summary>
    private sealed class ListReader(string name, string text)
    {
        private readonly List<double> _values = [];
        private int _pos;

        public Tensor<double> Read()
        {
            var shape = Element();
            SkipSpace();
            if (_pos < text.Length) throw Malformed($"unexpected '{text[_pos]}' after the closing ']'");
            return Tensor<double>.FromArray(_values.ToArray(), shape);
        }

        private int[] Element()
        {
            SkipSpace();
            if (_pos >= text.Length) throw Malformed("a ']' is missing");
            if (text[_pos] != '[')
            {
                int start = _pos;
                while (_pos < text.Length && text[_pos] is not (',' or ']' or '[')) _pos++;
                var token = text[start.._pos].Trim();
                if (token.Length == 0) throw Malformed($"a number is missing before '{(_pos < text.Length ? text[_pos] : ' ')}'");
                if (_pos < text.Length && text[_pos] == '[') throw Malformed($"'{token}' is followed by '[' without a comma");
                _values.Add(Number(name, token));
                return [];
            }
            _pos++;
            SkipSpace();
            if (_pos < text.Length && text[_pos] == ']') throw new UsageException($"--at: {name} has an empty list; a tensor needs one element or more");
            int[]? inner = null;
            int count = 0;
            while (true)
            {
                var shape = Element();
                if (inner is null) inner = shape;
                else if (!Shapes.Equal(inner, shape))
                    throw new UsageException($"--at: {name} is ragged: element {count + 1} of a list has shape {Shapes.Format(shape)}, the first {Shapes.Format(inner)}");
                count++;
                SkipSpace();
                if (_pos >= text.Length) throw Malformed("a ']' is missing");
                if (text[_pos] == ']') { _pos++; return [count, .. inner]; }
                if (text[_pos] != ',') throw Malformed($"unexpected '{text[_pos]}', expected ',' or ']'");
                _pos++;
            }
        }

        private void SkipSpace()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos])) _pos++;
        }

        private UsageException Malformed(string what) => new($"--at: {name}={text} is not a nested list of numbers: {what}");
    }
}
