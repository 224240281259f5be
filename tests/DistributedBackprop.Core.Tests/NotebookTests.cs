using System.Globalization;
using DistributedBackprop.Core;
using static DistributedBackprop.Core.Expr;

namespace DistributedBackprop.Core.Tests;

/// <summary>The notebook's numbers, printed the way it prints them (PyTorch shows four decimals).</summary>
public class NotebookTests
{
    private static string F4(double v) => v.ToString("F4", CultureInfo.InvariantCulture);

    [Fact]
    public void Square_at_three_and_a_half_has_value_12_25_and_gradient_7()
    {
        var x = Variable("x");
        var y = Pow(x, 2);
        var at = new Dictionary<string, Tensor<float>> { ["x"] = Tensor<float>.Vector(3.5f) };
        var result = Backprop.Gradients(y, at);
        Assert.Equal("tensor([12.2500])", result.Value().ToString());
        Assert.Equal("tensor([7.])", result.Of(x)!.ToString());
        // f'(x) = 2x analytically, evaluated without gradients (torch.no_grad()).
        Assert.Equal("tensor([7.])", Backprop.Evaluate(2.0 * x, at).ToString());
    }

    [Fact]
    public void Piece_by_piece_equals_all_in_one_at_the_notebooks_random_point()
    {
        var pieces = ExpressionParser.Parse("z1 = exp(-y); z2 = 1 + x^2 + y^2; z3 = x^3; z4 = 6*z1/z2 + 2*z3");
        var allInOne = ExpressionParser.Parse("2 * (x ^ 3) + (6 * exp(-y)) / (1 + x ^ 2 + y ^ 2)");
        var at = new Dictionary<string, Tensor<float>> { ["x"] = Tensor<float>.Vector(0.9829f), ["y"] = Tensor<float>.Vector(1.8251f) };
        Assert.Equal("tensor([2.0817])", Backprop.Evaluate(pieces.Output, at).ToString());
        Assert.Equal("tensor([2.0817])", Backprop.Evaluate(allInOne.Output, at).ToString());
    }

    [Fact]
    public void Gradients_at_2_4_match_the_notebooks_table_and_the_closed_form()
    {
        var p = ExpressionParser.Parse("z1 = exp(-y); z2 = 1 + x^2 + y^2; z3 = x^3; z4 = 6*z1/z2 + 2*z3");
        var d = p.Definitions.ToDictionary(x => x.Name, x => x.Value);
        var at = new Dictionary<string, Tensor<double>> { ["x"] = Tensor<double>.Scalar(2.0), ["y"] = Tensor<double>.Scalar(4.0) };
        var r = Backprop.Gradients(p.Output, at);
        double G(Expr e) => r.Of(e)!.Item();
        var (x, y) = (p.Variables.Single(v => v.Name == "x"), p.Variables.Single(v => v.Name == "y"));

        Assert.Equal("2.0000", F4(G(d["z3"])));
        Assert.Equal("-0.0002", F4(G(d["z2"])));
        Assert.Equal("0.2857", F4(G(d["z1"])));
        Assert.Equal("23.9990", F4(G(x)));
        Assert.Equal("-0.0072", F4(G(y)));

        // The chain rule by hand from the intermediates' gradients, and the closed form, agree with the engine.
        double xv = 2, yv = 4, z1 = Math.Exp(-yv), z2 = 1 + xv * xv + yv * yv;
        double byHandX = G(d["z3"]) * 3 * xv * xv + G(d["z2"]) * 2 * xv;
        double byHandY = G(d["z2"]) * 2 * yv + G(d["z1"]) * -z1;
        double closedX = 6 * xv * xv - 12 * xv * z1 / (z2 * z2);
        double closedY = -(6 * z1 * (xv * xv + (yv + 1) * (yv + 1))) / (z2 * z2);
        Assert.Equal(closedX, G(x), 12);
        Assert.Equal(closedY, G(y), 12);
        Assert.Equal(closedX, byHandX, 12);
        Assert.Equal(closedY, byHandY, 12);
    }

    [Fact]
    public void Cross_entropy_of_the_first_logit_case_is_0_1269()
    {
        var logits = Variable("logits", requiresGrad: false);
        var onehot = Variable("onehot", requiresGrad: false);
        var loss = -Mean(Sum(onehot * LogSoftmax(logits, 1), 1));
        var at = new Dictionary<string, Tensor<float>>
        {
            ["logits"] = Tensor<float>.FromRows([[-1f, 1f], [-1f, 1f], [1f, -1f]]),
            ["onehot"] = Tensor<float>.FromRows([[0f, 1f], [0f, 1f], [1f, 0f]]),
        };
        Assert.Equal("0.1269", F4(Backprop.Evaluate(loss, at).Item()));
    }

    [Fact]
    public void An_input_that_needs_no_gradient_gets_none()
    {
        var x = Variable("x", requiresGrad: false);
        var w = Variable("w");
        var y = Sigmoid(Sum(x * w));
        var at = new Dictionary<string, Tensor<double>> { ["x"] = Tensor<double>.Vector(-0.1691, -0.2432, 0.2890), ["w"] = Tensor<double>.Vector(1, 2, 3) };
        var r = Backprop.Gradients(y, at);
        Assert.Null(r.Of(x));
        Assert.NotNull(r.Of(w));
    }
}
