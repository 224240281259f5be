using DistributedBackprop.Core;
using static DistributedBackprop.Core.Expr;
using static DistributedBackprop.Core.Tests.TestData;

namespace DistributedBackprop.Core.Tests;

/// <summary>The flat ops (sign, the max's gradient share, one-hot rows), whose gradients finite differences cannot see.</summary>
public class PiecewiseTests
{
    private static readonly Op.Variable A = Variable("a"), B = Variable("b");

    private static double[] Eval(Expr f, params (string, Tensor<double>)[] at) => Backprop.Evaluate(f, At(at)).ToArray();

    [Fact]
    public void Sign_is_minus_one_zero_or_one_and_keeps_nan()
    {
        var x = Tensor<double>.Vector(-3, -0.0, 0, 2, double.NaN, -1e-300, 7, 8, 9); // a vector and a tail
        var s = Eval(new Op.Sign(A), ("a", x));
        Assert.Equal([-1, 0, 0, 1, double.NaN, -1, 1, 1, 1], s);
        Assert.True(double.IsNegative(s[1])); // -0 stays -0, as torch.sign
    }

    [Fact]
    public void Heaviside_gives_a_its_share_of_the_maximum_and_broadcasts()
    {
        var a = Tensor<double>.Vector(1, 2, 3, double.NaN, 5, 6, 7, 8, 9);
        var b = Tensor<double>.Vector(2, 2, 1, 0, 5, 0, 9, 8, double.NaN);
        Assert.Equal([0, 0.5, 1, 1, 0.5, 1, 0, 0.5, 1], Eval(new Op.Heaviside(A, B), ("a", a), ("b", b)));
        Assert.Equal([0, 0.5, 1], Eval(new Op.Heaviside(A, B), ("a", Tensor<double>.Vector(1, 2, 3)), ("b", Tensor<double>.Scalar(2))));
        Assert.Equal([1, 0.5, 0], Eval(new Op.Heaviside(A, B), ("a", Tensor<double>.Scalar(2)), ("b", Tensor<double>.Vector(1, 2, 3))));
    }

    [Fact]
    public void A_tie_splits_the_gradient_of_maximum_and_minimum_in_halves()
    {
        var at = At(("a", Tensor<double>.Vector(1, 2, 3)), ("b", Tensor<double>.Vector(1, 1, 4)));
        var max = Backprop.Gradients(Sum(Maximum(A, B)), at);
        Assert.Equal([0.5, 1, 0], max.Of(A)!.ToArray());
        Assert.Equal([0.5, 0, 1], max.Of(B)!.ToArray());
        var min = Backprop.Gradients(Sum(Minimum(A, B)), at);
        Assert.Equal([0.5, 0, 1], min.Of(A)!.ToArray());
        Assert.Equal([0.5, 1, 0], min.Of(B)!.ToArray());
    }

    [Fact]
    public void One_hot_rows_come_from_whole_class_numbers_in_range()
    {
        var like = Tensor<double>.Zeros(3, 4);
        Assert.Equal([0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1], Eval(OneHot(A, B), ("a", Tensor<double>.Vector(2, 0, 3)), ("b", like)));
        Assert.Throws<ArgumentException>(() => Eval(OneHot(A, B), ("a", Tensor<double>.Vector(2, 4, 0)), ("b", like)));
        Assert.Throws<ArgumentException>(() => Eval(OneHot(A, B), ("a", Tensor<double>.Vector(2, 1.5, 0)), ("b", like)));
        Assert.Throws<ArgumentException>(() => Eval(OneHot(A, B), ("a", Tensor<double>.Vector(-1, 0, 0)), ("b", like)));
        Assert.Throws<ShapeException>(() => Eval(OneHot(A, B), ("a", Tensor<double>.Vector(1, 0)), ("b", like)));
    }

    [Fact]
    public void Leaky_relu_takes_the_slope_at_zero_as_pytorch()
    {
        var at = At(("a", Tensor<double>.Vector(-1, 0, 1)));
        Assert.Equal([-0.2, 0, 1], Eval(LeakyRelu(A, 0.2), ("a", at["a"])));
        Assert.Equal([0.2, 0.2, 1], Backprop.Gradients(Sum(LeakyRelu(A, 0.2)), at).Of(A)!.ToArray());
    }
}
