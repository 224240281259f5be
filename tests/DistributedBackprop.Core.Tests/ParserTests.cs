using DistributedBackprop.Core;

namespace DistributedBackprop.Core.Tests;

public class ParserTests
{
    private static double Eval(string program, params (string, double)[] at) =>
        Backprop.Evaluate(ExpressionParser.Parse(program).Output, at.ToDictionary(a => a.Item1, a => Tensor<double>.Scalar(a.Item2))).Item();

    [Theory]
    [InlineData("2^3^2", 512)]          // right-associative
    [InlineData("-2^2", -4)]            // ^ binds tighter than unary minus
    [InlineData("2^-1", 0.5)]
    [InlineData("1 - 2 - 3", -4)]       // left-associative
    [InlineData("8 / 4 / 2", 1)]
    [InlineData("1 + 2 * 3", 7)]
    [InlineData("(1 + 2) * 3", 9)]
    [InlineData("1.5e1 + .5", 15.5)]
    [InlineData("--3", 3)]
    [InlineData("a = 2; b = a * a; b + a;", 6)]
    [InlineData("sqrt(16) + exp(0) + log(1) + sin(0) + cos(0) + tanh(0) + sigmoid(0) + relu(-3)", 6.5)]
    public void Evaluates_with_the_usual_precedence(string program, double expected) =>
        Assert.Equal(expected, Eval(program), 12);

    private static Tensor<double> EvalAt(string program, Tensor<double> x) =>
        Backprop.Evaluate(ExpressionParser.Parse(program).Output, new Dictionary<string, Tensor<double>> { ["x"] = x });

    [Fact]
    public void Abs_max_and_min_work_element_by_element_and_print_back_as_written()
    {
        var v = Tensor<double>.Vector(-2, 0.5, 3);
        Assert.Equal([2.0, 0.5, 3], EvalAt("abs(x)", v).ToArray());
        Assert.Equal([0.0, 0.5, 3], EvalAt("max(x, 0)", v).ToArray());
        Assert.Equal([-2.0, 0.5, 1], EvalAt("min(x, 1)", v).ToArray());
        Assert.Equal("max(abs(x), min(x, 2))", ExpressionParser.Parse("max(abs(x), min(x, 2))").Output.ToString());
        var e = Assert.Throws<ParseException>(() => ExpressionParser.Parse("max(x)"));
        Assert.Contains("takes two arguments", e.Message);
        // d/dx max(x, y) at a tie splits between the two, as torch.maximum does
        var max = Assert.IsType<Op.Maximum>(ExpressionParser.Parse("max(x, y)").Output);
        var tie = Backprop.Gradients(max, new Dictionary<string, Tensor<double>> { ["x"] = Tensor<double>.Scalar(1), ["y"] = Tensor<double>.Scalar(1) });
        Assert.Equal(0.5, tie.Of(max.A)!.Item());
    }

    [Fact]
    public void Sum_and_mean_reduce_all_elements_or_one_axis()
    {
        var m = Tensor<double>.FromArray([1, 2, 3, 4, 5, 6], 2, 3);
        Assert.Equal(21 + 3.5, EvalAt("sum(x) + mean(x)", m).Item(), 12);
        Assert.Equal([5.0, 7, 9], EvalAt("sum(x, 0)", m).ToArray());
        Assert.Equal([2.0, 5], EvalAt("mean(x, -1)", m).ToArray());
        Assert.Equal([2], EvalAt("mean(x, 1)", m).Shape.ToArray());
        Assert.Equal(12, EvalAt("sum(2 * x, 0)", Tensor<double>.Vector(1, 2, 3)).Item(), 12); // the argument is a whole expression
        var sum = Assert.IsType<Op.Sum>(ExpressionParser.Parse("sum(x, -1)").Output);
        Assert.Equal(-1, sum.Axis);
        Assert.Null(Assert.IsType<Op.Mean>(ExpressionParser.Parse("mean(x)").Output).Axis);
    }

    [Theory]
    [InlineData("sum(x, 0) + mean(x)")]
    [InlineData("exp(sum(x))")]
    public void Reductions_print_in_the_programs_own_words(string program) =>
        Assert.Equal(program, ExpressionParser.Parse(program).Output.ToString());

    [Fact]
    public void Minus_x_squared_is_minus_the_square() => Assert.Equal(-9, Eval("-x^2", ("x", 3)), 12);

    [Fact]
    public void Definitions_are_shared_nodes_not_copies()
    {
        var p = ExpressionParser.Parse("z = exp(x); w = z * z");
        var w = Assert.IsType<Op.Mul>(p.Output);
        Assert.Same(w.A, w.B);
        Assert.Same(p.Definitions[0].Value, w.A);
        Assert.Equal("w", p.OutputName);
        Assert.Equal(["x"], p.Variables.Select(v => v.Name));
    }

    [Fact]
    public void A_literal_exponent_is_a_constant_power()
    {
        Assert.IsType<Op.PowConst>(ExpressionParser.Parse("x^3").Output);
        Assert.IsType<Op.Pow>(ExpressionParser.Parse("x^y").Output);
    }

    [Theory]
    [InlineData("x +* 2", 4, "unexpected '*'")]
    [InlineData("foo(x)", 1, "unknown function 'foo'")]
    [InlineData("(x + 1", 7, "expected ')'")]
    [InlineData("x y", 3, "unexpected 'y'")]
    [InlineData("", 1, "empty")]
    [InlineData("x + ", 5, "unexpected end")]
    [InlineData("exp = 3", 1, "is a function")]
    [InlineData("2 + exp", 5, "needs an argument")]
    [InlineData("1.2.3", 1, "not a number")]
    [InlineData("x # 1", 3, "unexpected '#'")]
    [InlineData("sum(x, 1.5)", 8, "the axis of sum must be a whole number")]
    [InlineData("mean(x, y)", 9, "the axis of mean must be a whole number")]
    [InlineData("sum(x, 1", 9, "expected ')'")]
    [InlineData("exp(x, 1)", 6, "'exp' takes one argument")]
    [InlineData("sum = 2", 1, "is a function")]
    [InlineData("1 + mean", 5, "needs an argument")]
    [InlineData("frobnicate(x)", 1, "known: exp, log, sqrt, sin, cos, tanh, sigmoid, relu, abs, sum, mean, max, min")]
    public void Bad_programs_say_what_and_where(string program, int column, string message)
    {
        var e = Assert.Throws<ParseException>(() => ExpressionParser.Parse(program));
        Assert.Equal(column, e.Column);
        Assert.Contains(message, e.Message);
    }
}
