using DistributedBackprop.Core;

namespace DistributedBackprop.Core.Tests;

public class DotTests
{
    [Fact]
    public void The_graph_names_ops_after_their_backward_functions_and_draws_edges_from_inputs()
    {
        var p = ExpressionParser.Parse("z1 = exp(-y); z2 = 1 + x^2 + y^2; z3 = x^3; z4 = 6*z1/z2 + 2*z3");
        var at = new Dictionary<string, Tensor<double>> { ["x"] = Tensor<double>.Scalar(2), ["y"] = Tensor<double>.Scalar(4) };
        var dot = Dot.Render(p.Output, p.Names, Backprop.Gradients(p.Output, at));
        foreach (var name in new[] { "ExpBackward0", "NegBackward0", "PowBackward0", "DivBackward0", "MulBackward0", "AddBackward0" })
            Assert.Contains(name, dot);
        Assert.Contains("fillcolor=lightblue", dot);       // the variables
        Assert.Contains("fillcolor=darkolivegreen1", dot); // the output
        Assert.Contains("z1\\lExpBackward0", dot);
        Assert.Contains("grad  23.999", dot);              // dz4/dx at (2, 4)
        // 5 named or unnamed ops feed z4 through 12 edges: every node but the output has an edge out.
        int nodes = Graph.TopologicalOrder([p.Output]).Count;
        int edges = dot.Split('\n').Count(l => l.Contains(" -> "));
        Assert.Equal(Graph.TopologicalOrder([p.Output]).Sum(n => n.Inputs.Length), edges);
        Assert.True(edges >= nodes - 1);
    }
}
