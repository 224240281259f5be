using System.Globalization;

namespace DistributedBackprop.Core;

/// <summary>
/// A small expression program: definitions <c>name = expr;</c> and an optional final expression. Its value
/// is the last expression or definition. Every name that is not defined earlier is a variable.
/// </summary>
public sealed record ExprProgram(IReadOnlyList<(string Name, Expr Value)> Definitions, Expr Output, IReadOnlyList<Op.Variable> Variables)
{
    /// <summary>The name of each defined node, for tables and pictures.</summary>
    public IReadOnlyDictionary<Expr, string> Names
    {
        get
        {
            var names = new Dictionary<Expr, string>(ReferenceEqualityComparer.Instance);
            foreach (var (name, value) in Definitions) names.TryAdd(value, name);
            return names;
        }
    }

    /// <summary>The output's name: the last definition's, where the program ends with one.</summary>
    public string? OutputName => Definitions.Count > 0 && ReferenceEquals(Definitions[^1].Value, Output) ? Definitions[^1].Name : null;
}

/// <summary>A program that does not parse; <see cref="Column"/> is 1-based.</summary>
public sealed class ParseException(string message, int column) : Exception($"column {column}: {message}")
{
    /// <summary>Where the problem is, counting from 1.</summary>
    public int Column { get; } = column;
}

/// <summary>
/// Recursive descent over: program := stmt (';' stmt)* [';'];  stmt := name '=' sum | sum;
/// sum := product (('+'|'-') product)*;  product := unary (('*'|'/') unary)*;  unary := '-' unary | '+' unary | power;
/// power := atom ['^' unary] (right-associative, tighter than unary minus: -x^2 is -(x^2));
/// atom := number | name | name '(' sum ')' | reduction '(' sum [',' axis] ')' | pair '(' sum ',' sum ')' | '(' sum ')';
/// reduction := 'sum' | 'mean' (over all elements, or along one axis: a whole number, negative from the end);
/// pair := 'max' | 'min' (element by element, with broadcasting).
/// </summary>
public sealed class ExpressionParser
{
    private static readonly Dictionary<string, Func<Expr, Expr>> Functions = new()
    {
        ["exp"] = Expr.Exp, ["log"] = Expr.Log, ["sqrt"] = Expr.Sqrt, ["sin"] = Expr.Sin, ["cos"] = Expr.Cos,
        ["tanh"] = Expr.Tanh, ["sigmoid"] = Expr.Sigmoid, ["relu"] = Expr.Relu, ["abs"] = Expr.Abs,
    };

    /// <summary>Functions of two arguments, element by element with broadcasting.</summary>
    private static readonly Dictionary<string, Func<Expr, Expr, Expr>> Pairs = new()
    {
        ["max"] = Expr.Maximum, ["min"] = Expr.Minimum,
    };

    private static readonly Dictionary<string, Func<Expr, int?, Expr>> Reductions = new()
    {
        ["sum"] = (x, axis) => Expr.Sum(x, axis), ["mean"] = (x, axis) => Expr.Mean(x, axis),
    };

    private static bool IsFunction(string name) => Functions.ContainsKey(name) || Reductions.ContainsKey(name) || Pairs.ContainsKey(name);

    private readonly string _text;
    private int _pos;
    private readonly Dictionary<string, Expr> _defined = [];
    private readonly Dictionary<string, Op.Variable> _variables = [];
    private readonly List<Op.Variable> _variableOrder = [];

    private ExpressionParser(string text) => _text = text;

    /// <summary>Parses a program; throws <see cref="ParseException"/> with the column of the first problem.</summary>
    public static ExprProgram Parse(string text) => new ExpressionParser(text).Program();

    private ExprProgram Program()
    {
        var definitions = new List<(string, Expr)>();
        Expr? last = null;
        SkipSpace();
        if (AtEnd) throw Error("the program is empty");
        while (!AtEnd)
        {
            int start = _pos;
            if (TryName(out var name) && Peek() == '=')
            {
                _pos++;
                if (IsFunction(name)) throw new ParseException($"'{name}' is a function and cannot be defined", start + 1);
                last = Sum();
                _defined[name] = last;
                definitions.Add((name, last));
            }
            else
            {
                _pos = start;
                last = Sum();
            }
            if (Peek() == ';') { _pos++; SkipSpace(); continue; }
            if (!AtEnd) throw Error($"unexpected '{_text[_pos]}', expected an operator or ';'");
        }
        return new ExprProgram(definitions, last!, _variableOrder);
    }

    private Expr Sum()
    {
        var left = Product();
        while (Peek() is '+' or '-')
        {
            char op = _text[_pos++];
            var right = Product();
            left = op == '+' ? left + right : left - right;
        }
        return left;
    }

    private Expr Product()
    {
        var left = Unary();
        while (Peek() is '*' or '/')
        {
            char op = _text[_pos++];
            var right = Unary();
            left = op == '*' ? left * right : left / right;
        }
        return left;
    }

    private Expr Unary()
    {
        if (Peek() == '-') { _pos++; return -Unary(); }
        if (Peek() == '+') { _pos++; return Unary(); }
        return Power();
    }

    private Expr Power()
    {
        var b = Atom();
        if (Peek() != '^') return b;
        _pos++;
        return Expr.Pow(b, Unary());
    }

    private Expr Atom()
    {
        char c = Peek();
        int start = _pos;
        if (c == '(')
        {
            _pos++;
            var inner = Sum();
            Expect(')');
            return inner;
        }
        if (char.IsDigit(c) || c == '.') return Number();
        if (TryName(out var name))
        {
            if (Peek() == '(')
            {
                bool reduction = Reductions.TryGetValue(name, out var reduce);
                Func<Expr, Expr>? f = null;
                if (Pairs.TryGetValue(name, out var pair))
                {
                    _pos++;
                    var first = Sum();
                    if (Peek() != ',') throw Error($"'{name}' takes two arguments: {name}(a, b)");
                    _pos++;
                    var second = Sum();
                    Expect(')');
                    return pair(first, second);
                }
                if (!reduction && !Functions.TryGetValue(name, out f))
                    throw new ParseException($"unknown function '{name}' (known: {string.Join(", ", Functions.Keys.Concat(Reductions.Keys).Concat(Pairs.Keys))})", start + 1);
                _pos++;
                var arg = Sum();
                int? axis = null;
                if (Peek() == ',')
                {
                    if (!reduction) throw Error($"'{name}' takes one argument");
                    _pos++;
                    axis = Axis(name);
                }
                Expect(')');
                return reduction ? reduce!(arg, axis) : f!(arg);
            }
            if (IsFunction(name)) throw new ParseException($"function '{name}' needs an argument in parentheses", start + 1);
            if (_defined.TryGetValue(name, out var def)) return def;
            if (!_variables.TryGetValue(name, out var v))
            {
                v = Expr.Variable(name);
                _variables[name] = v;
                _variableOrder.Add(v);
            }
            return v;
        }
        throw AtEnd ? Error("unexpected end of program, expected a number, a name or '('") : Error($"unexpected '{c}', expected a number, a name or '('");
    }

    private Expr Number()
    {
        int start = _pos;
        while (_pos < _text.Length && (char.IsDigit(_text[_pos]) || _text[_pos] == '.')) _pos++;
        if (_pos < _text.Length && _text[_pos] is 'e' or 'E')
        {
            int save = _pos++;
            if (_pos < _text.Length && _text[_pos] is '+' or '-') _pos++;
            if (_pos < _text.Length && char.IsDigit(_text[_pos])) while (_pos < _text.Length && char.IsDigit(_text[_pos])) _pos++;
            else _pos = save;
        }
        var token = _text[start.._pos];
        if (!double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            throw new ParseException($"'{token}' is not a number", start + 1);
        SkipSpace();
        return value;
    }

    /// <summary>A reduction's axis: a whole number, negative counting from the last axis.</summary>
    private int Axis(string function)
    {
        SkipSpace();
        int start = _pos;
        if (Peek() == '-') _pos++;
        int digits = _pos;
        while (_pos < _text.Length && char.IsAsciiDigit(_text[_pos])) _pos++;
        bool whole = _pos > digits && (AtEnd || !(char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] is '.' or '_'));
        if (!whole || !int.TryParse(_text.AsSpan(start, _pos - start), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var axis))
            throw new ParseException($"the axis of {function} must be a whole number such as 0 or -1", start + 1);
        SkipSpace();
        return axis;
    }

    private bool TryName(out string name)
    {
        int start = _pos;
        if (_pos < _text.Length && (char.IsAsciiLetter(_text[_pos]) || _text[_pos] == '_'))
            while (_pos < _text.Length && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] == '_')) _pos++;
        name = _text[start.._pos];
        SkipSpace();
        return name.Length > 0;
    }

    private void Expect(char c)
    {
        if (Peek() != c) throw AtEnd ? Error($"unexpected end of program, expected '{c}'") : Error($"unexpected '{_text[_pos]}', expected '{c}'");
        _pos++;
        SkipSpace();
    }

    private char Peek()
    {
        SkipSpace();
        return AtEnd ? '\0' : _text[_pos];
    }

    private void SkipSpace()
    {
        while (_pos < _text.Length && char.IsWhiteSpace(_text[_pos])) _pos++;
    }

    private bool AtEnd => _pos >= _text.Length;
    private ParseException Error(string message) => new(message, _pos + 1);
}
