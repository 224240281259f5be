using DistributedBackprop.Core;
using static DistributedBackprop.Core.Expr;
using static DistributedBackprop.Core.Tests.TestData;

namespace DistributedBackprop.Core.Tests;

/// <summary>Every op's vector-Jacobian product against central finite differences, first and second order.</summary>
public class GradCheckTests
{
    private static readonly Op.Variable A = Variable("a"), B = Variable("b");

    // name -> (expression over a and b, a's shape and range, b's shape and range)
    public static readonly Dictionary<string, (Expr F, int[] ShapeA, int[] ShapeB, double Lo, double Hi)> Cases = new()
    {
        ["add broadcast"] = (A + B, [3, 1], [4], -1, 1),
        ["sub broadcast"] = (A - B, [2, 3], [3], -1, 1),
        ["mul broadcast"] = (A * B, [3, 1], [1, 4], -1, 1),
        ["div"] = (A / B, [2, 3], [2, 3], 0.5, 2),
        ["neg"] = (-A * B, [3], [3], -1, 1),
        ["pow tensor exponent"] = (Pow(A, B), [4], [4], 0.5, 2),
        ["pow 3"] = (Pow(A, 3) * B, [4], [4], -1, 1),
        ["pow 0.5"] = (Pow(A, 0.5) * B, [4], [4], 0.5, 2),
        ["pow -1"] = (Pow(A, -1.0) * B, [4], [4], 0.5, 2),
        ["exp"] = (Exp(A) * B, [4], [4], -1, 1),
        ["log"] = (Log(A) * B, [4], [4], 0.5, 2),
        ["sqrt"] = (Sqrt(A) * B, [4], [4], 0.5, 2),
        ["sin"] = (Sin(A) * B, [4], [4], -2, 2),
        ["cos"] = (Cos(A) * B, [4], [4], -2, 2),
        ["tanh"] = (Tanh(A) * B, [4], [4], -2, 2),
        ["sigmoid"] = (Sigmoid(A) * B, [4], [4], -2, 2),
        ["relu"] = (Relu(A) * B, [6], [6], 0.2, 1),
        ["relu negative side"] = (Relu(A - 2.0) * B, [6], [6], 0.2, 1),
        ["tanh's backward rule"] = (new Op.TanhGrad(A, B), [5], [5], -1, 1),
        ["sigmoid's backward rule"] = (new Op.SigmoidGrad(A, B), [5], [5], 0.1, 0.9),
        ["relu's backward rule"] = (new Op.ReluGrad(A, B - 0.5), [6], [6], 0.2, 1),
        ["matmul"] = (MatMul(A, B), [2, 3], [3, 4], -1, 1),
        ["matmul a transposed"] = (MatMul(A, B, transA: true), [3, 2], [3, 4], -1, 1),
        ["matmul b transposed"] = (MatMul(A, B, transB: true), [2, 3], [4, 3], -1, 1),
        ["matmul both transposed"] = (MatMul(A, B, true, true), [3, 2], [4, 3], -1, 1),
        ["matmul vector times matrixᵀ (linear on one sample)"] = (MatMul(A, B, transB: true), [3], [2, 3], -1, 1),
        ["matmul rank-3 times matrixᵀ"] = (MatMul(A, B, transB: true), [2, 2, 3], [4, 3], -1, 1),
        ["matmul vectorᵀ times vector (outer product)"] = (MatMul(A, B, transA: true), [3], [2], -1, 1),
        ["transpose"] = (Transpose(A) * B, [2, 3], [3, 2], -1, 1),
        ["reshape"] = (Reshape(A, 3, -1) * B, [2, 3], [3, 2], -1, 1),
        ["sum all"] = (Sum(A * B), [2, 3], [2, 3], -1, 1),
        ["sum axis 0"] = (Sum(A, 0) * B, [2, 3], [3], -1, 1),
        ["sum axis 1 keepdims"] = (Sum(A, 1, keepDims: true) * B, [2, 3], [2, 1], -1, 1),
        ["mean all"] = (Mean(A) * B, [2, 3], [1], -1, 1),
        ["mean axis -1"] = (Mean(A, -1) * B, [2, 3], [2], -1, 1),
        ["log-softmax rows"] = (LogSoftmax(A, 1) * B, [3, 4], [3, 4], -3, 3),
        ["log-softmax columns"] = (LogSoftmax(A, 0) * B, [3, 4], [3, 4], -3, 3),
        ["log-softmax middle axis"] = (LogSoftmax(Reshape(A, 2, 3, 2), 1) * Reshape(B, 2, 3, 2), [12], [12], -3, 3),
        ["expand dims"] = (new Op.ExpandDims(A, 0) * B, [3], [2, 3], -1, 1),
        ["broadcast like"] = (new Op.BroadcastLike(A, B) * B, [1, 3], [2, 3], -1, 1),
        ["sum like"] = (new Op.SumLike(A, B) * B, [2, 3], [3], -1, 1),
        ["reshape like"] = (new Op.ReshapeLike(A, B) * B, [6], [2, 3], -1, 1),
        ["abs"] = (Abs(A) * B, [6], [6], -1, 1),
        ["maximum broadcast"] = (Maximum(A, B), [3, 1], [4], -1, 1),
        ["minimum broadcast"] = (Minimum(A, B) * B, [2, 3], [3], -1, 1),
        ["leaky relu"] = (LeakyRelu(A, 0.1) * B, [6], [6], -1, 1),
        ["leaky relu, slope above 1"] = (LeakyRelu(A, 1.5) * B, [6], [6], -1, 1),
        ["leaky relu's backward rule"] = (new Op.LeakyReluGrad(A, B - 0.5, 0.1), [6], [6], 0.2, 1),
        ["gelu"] = (Gelu(A) * B, [11], [11], -4, 4),
        ["gelu's backward rule"] = (new Op.GeluGrad(A, B), [11], [11], -3, 3),
        ["softplus"] = (Softplus(A) * B, [6], [6], -6, 6),
    };

    public static TheoryData<string> Names => new(Cases.Keys);

    private static Dictionary<string, Tensor<double>> Point(string name)
    {
        var c = Cases[name];
        return At(("a", Uniform(1, c.Lo, c.Hi, c.ShapeA)), ("b", Uniform(2, c.Lo, c.Hi, c.ShapeB)));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void First_derivatives_match_finite_differences(string name)
    {
        var result = GradCheck.Check(Cases[name].F, Point(name));
        Assert.True(result.Passed, $"{name}: relative error {result.WorstRelativeError:E2}; {result.Detail}");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Second_derivatives_match_finite_differences(string name)
    {
        // The gradient is itself an expression: check its own gradient the same way.
        var f = Sum(Cases[name].F * Constant(Uniform(3, -1, 1, [.. Backprop.Evaluate(Cases[name].F, Point(name)).Shape])));
        var gradA = Backprop.GradientGraph(f)[A];
        var result = GradCheck.Check(gradA, Point(name), tolerance: 1e-5);
        Assert.True(result.Passed, $"{name}: relative error {result.WorstRelativeError:E2}; {result.Detail}");
    }

    [Fact]
    public void Gradcheck_catches_a_wrong_rule()
    {
        // sin with the derivative of cos: gradcheck must fail, or it proves nothing.
        var wrong = new WrongSin(A);
        var result = GradCheck.Check(wrong * B, At(("a", Uniform(1, -2, 2, 4)), ("b", Uniform(2, -1, 1, 4))));
        Assert.False(result.Passed);
    }

    [Fact]
    public void The_jacobian_check_compares_every_element_and_passes_the_engine()
    {
        // y = w * x broadcast: dy[i, j] / dx[k] = w[i, j] when j == k; dy[i, j] / dw[k, l] = x[j] when (i, j) == (k, l).
        var (x, w) = (Variable("x"), Variable("w"));
        var at = At(("x", Uniform(1, -1, 1, 3)), ("w", Uniform(2, -1, 1, 2, 3)));
        var results = GradCheck.Jacobians(w * x, at, ["x", "w"]);
        Assert.All(results, r => Assert.True(r.Passed, $"{r.Name}: {r.WorstRelativeError:E2}"));
        var dx = results[0];
        Assert.Equal([2, 3, 3], dx.Engine.Shape.ToArray());
        Assert.Equal([2, 3, 3], dx.FiniteDifferences.Shape.ToArray());
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 3; k++)
                {
                    double expected = j == k ? at["w"][i, j] : 0;
                    Assert.Equal(expected, dx.Engine[i, j, k], 12);
                    Assert.Equal(expected, dx.FiniteDifferences[i, j, k], 8);
                }
        Assert.Equal([2, 3, 2, 3], results[1].Engine.Shape.ToArray());
        Assert.Equal(at["x"][2], results[1].Engine[1, 2, 1, 2], 12);
        Assert.Equal(0, results[1].Engine[1, 2, 0, 2]);
    }

    [Fact]
    public void The_jacobian_check_fails_a_wrong_rule_and_a_kink_and_names_the_variable()
    {
        var wrong = GradCheck.Jacobians(new WrongSin(A) * B, At(("a", Uniform(1, -2, 2, 4)), ("b", Uniform(2, -1, 1, 4))), ["a", "b"]);
        Assert.False(wrong[0].Passed);
        Assert.True(wrong[1].Passed); // b's rule is right
        // relu at 0: the engine takes the derivative 0, central differences see the mean of the two sides.
        var kink = GradCheck.Jacobians(Relu(A), At(("a", Tensor<double>.Scalar(0))), ["a"]).Single();
        Assert.False(kink.Passed);
        Assert.Equal(0, kink.Engine.Item());
        Assert.Equal(0.5, kink.FiniteDifferences.Item(), 9);
        Assert.Equal(0.5, kink.WorstRelativeError, 9);
    }

    [Fact]
    public void A_variable_the_output_does_not_use_has_a_jacobian_of_zeros()
    {
        var r = GradCheck.Jacobians(Pow(A, 2), At(("a", Tensor<double>.Scalar(3)), ("c", Tensor<double>.Vector(1, 2))), ["a", "c"]);
        Assert.Equal(6, r[0].Engine.Item(), 12);
        Assert.Equal([0.0, 0], r[1].Engine.ToArray());
        Assert.True(r[1].Passed);
    }

    private sealed record WrongSin(Expr X) : Op.Unary(X)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => new Op.Sin(X).Forward(x, y);
        internal override Expr?[] Backward(Expr g) => [g * -new Op.Sin(X)];
        public override string BackwardName => "WrongSinBackward";
    }
}
