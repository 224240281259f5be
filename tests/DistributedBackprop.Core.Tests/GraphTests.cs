using DistributedBackprop.Core;
using static DistributedBackprop.Core.Expr;

namespace DistributedBackprop.Core.Tests;

public class GraphTests
{
    [Fact]
    public void Inferred_shapes_are_the_shapes_of_the_values()
    {
        var (x, w) = (Variable("x"), Variable("w"));
        var y = LogSoftmax(MatMul(x, w, transB: true) + Sum(w, 0), 1);
        var at = new Dictionary<string, Tensor<double>> { ["x"] = TestData.Uniform(1, -1, 1, 4, 3), ["w"] = TestData.Uniform(2, -1, 1, 3, 3) };
        var shapes = Graph.InferShapes([y], at.ToDictionary(kv => kv.Key, kv => kv.Value.Shape.ToArray()));
        var values = Backprop.Gradients(y, at);
        foreach (var node in Graph.TopologicalOrder([y]))
            Assert.Equal(values.ValueOf(node).Shape.ToArray(), shapes[node]);
    }

    [Fact]
    public void Shapes_that_do_not_fit_and_missing_variables_are_errors()
    {
        var x = Variable("x");
        var e = Assert.Throws<ShapeException>(() => Graph.InferShapes([MatMul(x, x)], new Dictionary<string, int[]> { ["x"] = [2, 3] }));
        Assert.Contains("inner sizes 3 and 2", e.Message);
        Assert.Throws<UnboundVariableException>(() => Graph.InferShapes([x + Variable("y")], new Dictionary<string, int[]> { ["x"] = [] }));
    }
}
