using DistributedBackprop.Core;
using static DistributedBackprop.Core.Expr;
using static DistributedBackprop.Core.Tests.TestData;

namespace DistributedBackprop.Core.Tests;

public class BackpropTests
{
    private static readonly Op.Variable X = Variable("x"), W = Variable("w");

    [Fact]
    public void The_jacobian_of_a_linear_map_is_its_matrix()
    {
        // y = x Wᵀ for one sample: dy[i] / dx[k] = W[i, k], dy[i] / dW[k, l] = x[l] when i == k.
        var at = At(("x", Uniform(1, -1, 1, 3)), ("w", Uniform(2, -1, 1, 2, 3)));
        var j = Backprop.Jacobian(MatMul(X, W, transB: true), [X, W], at);
        Assert.Equal([2, 3], j[0].Shape.ToArray());
        Assert.Equal(at["w"].ToArray(), j[0].ToArray());
        Assert.Equal([2, 2, 3], j[1].Shape.ToArray());
        for (int i = 0; i < 2; i++)
            for (int k = 0; k < 2; k++)
                for (int l = 0; l < 3; l++)
                    Assert.Equal(i == k ? at["x"][l] : 0, j[1][i, k, l]);
    }

    [Fact]
    public void The_jacobian_of_a_scalar_output_is_its_gradient_and_zeros_where_it_does_not_depend()
    {
        var f = Sum(Sin(X) * X);
        var at = At(("x", Uniform(3, -2, 2, 2, 2)), ("w", Tensor<double>.Vector(5)));
        var j = Backprop.Jacobian(f, [X, W], at);
        Assert.Equal(Backprop.Gradients(f, at).Of(X)!.ToArray(), j[0].ToArray());
        Assert.Equal([2, 2], j[0].Shape.ToArray());
        Assert.Equal([0.0], j[1].ToArray());
    }

    [Fact]
    public void The_jacobian_of_an_intermediate_node_is_taken_with_respect_to_that_node()
    {
        var z = Exp(X);
        var y = z * 3.0;
        var j = Backprop.Jacobian(y, [z], At(("x", Tensor<double>.Vector(1, 2))));
        Assert.Equal([3.0, 0, 0, 3], j[0].ToArray());
    }
}
