using DistributedBackprop.Core;
using static DistributedBackprop.Core.Expr;

namespace DistributedBackprop.Core.Tests;

public class DotTests
{
    private static readonly ExprProgram Notebook = ExpressionParser.Parse("z1 = exp(-y); z2 = 1 + x^2 + y^2; z3 = x^3; z4 = 6*z1/z2 + 2*z3");

    private static Dictionary<string, Tensor<double>> At(double x, double y) =>
        new() { ["x"] = Tensor<double>.Scalar(x), ["y"] = Tensor<double>.Scalar(y) };

    private static List<string> Lines(string dot, string marker) => dot.Split('\n').Where(l => l.Contains(marker)).ToList();

    /// <summary>Each node's label by id, with the DOT escapes turned back into line breaks.</summary>
    private static Dictionary<string, string> Labels(string dot) => dot.Split('\n')
        .Where(l => l.Contains("[label=\""))
        .ToDictionary(l => l.Trim().Split(' ')[0], l => l.Split("label=\"")[1].Split("\" fillcolor")[0].Replace("\\l", "\n"));

    [Fact]
    public void The_graph_names_ops_after_their_backward_functions_with_values_and_gradients()
    {
        var dot = Dot.Render(Notebook.Output, Notebook.Names, Backprop.Gradients(Notebook.Output, At(2, 4)));
        foreach (var name in new[] { "ExpBackward0", "NegBackward0", "PowBackward0", "DivBackward0", "MulBackward0", "AddBackward0" })
            Assert.Contains(name, dot);
        Assert.Contains("fillcolor=lightblue", dot);       // the variables
        Assert.Contains("fillcolor=darkolivegreen1", dot); // the output
        Assert.Contains("z1\\lExpBackward0", dot);
        Assert.Contains("grad  23.999", dot);              // dz4/dx at (2, 4)
    }

    [Fact]
    public void Parameters_feed_the_ops_through_accumulate_grad_and_constants_are_left_out_as_torchviz_does()
    {
        var dot = Dot.Render(Notebook.Output, Notebook.Names);
        var labels = Labels(dot);
        var edges = Lines(dot, " -> ").Select(l => l.Trim().Split(" -> ")).Select(p => (From: p[0], To: p[1])).ToList();
        var accumulators = labels.Where(kv => kv.Value.StartsWith("AccumulateGrad")).Select(kv => kv.Key).ToList();
        var variables = labels.Where(kv => kv.Value.Split('\n')[0] is "x" or "y").Select(kv => kv.Key).ToList();
        Assert.Equal(2, accumulators.Count);
        Assert.Equal(2, variables.Count);
        // Each variable has one arrow, into its own accumulator; the ops take their arrows from the accumulators.
        foreach (var v in variables) Assert.Equal([v + "_acc"], edges.Where(e => e.From == v).Select(e => e.To));
        Assert.DoesNotContain(edges, e => variables.Contains(e.To));
        Assert.All(edges.Where(e => accumulators.Contains(e.To)), e => Assert.Contains(e.From, variables));
        Assert.Equal(4, edges.Count(e => accumulators.Contains(e.From))); // x into x^2 and x^3, y into -y and y^2
        // No constant (1, 2, 6, the exponents) is drawn: only nodes on a path from a parameter.
        Assert.DoesNotContain("plaintext", dot);
        var drawnOps = labels.Count - accumulators.Count - variables.Count;
        var needingGrad = Graph.TopologicalOrder([Notebook.Output]).Count(n => n is not Op.Variable && n.Inputs.Any(i => i is not Op.Constant));
        Assert.Equal(needingGrad, drawnOps);
    }

    [Fact]
    public void Without_values_a_scalar_program_shows_its_inferred_shapes()
    {
        var labels = Labels(Dot.Render(Notebook.Output, Notebook.Names));
        Assert.All(labels.Values.Where(l => !l.StartsWith("AccumulateGrad")), l => Assert.Contains("\n()\n", l));
        Assert.Contains("x\n()\n", labels.Values);
        Assert.DoesNotContain(labels.Values, l => l.Contains("value"));

        // A graph that a scalar cannot fit (an axis of a scalar) is drawn without shapes rather than refused.
        var x = Variable("x");
        var unfit = Labels(Dot.Render(Sum(x, 1)));
        Assert.DoesNotContain(unfit.Values, l => l.Contains('('));
    }

    [Fact]
    public void Shapes_come_from_the_values_where_they_are_given()
    {
        var (x, w) = (Variable("x"), Variable("w"));
        var y = Mean(w * x, -1);
        var at = new Dictionary<string, Tensor<double>> { ["x"] = Tensor<double>.Vector(1, 2, 3), ["w"] = TestData.Uniform(1, -1, 1, 2, 3) };
        var labels = Labels(Dot.Render(y, values: Backprop.Gradients(y, at))).Values.ToList();
        Assert.Contains(labels, l => l.StartsWith("x\n(3)\nvalue [1., 2., 3.]\ngrad"));
        Assert.Contains(labels, l => l.StartsWith("w\n(2, 3)\n"));
        Assert.Contains(labels, l => l.StartsWith("MulBackward0\n(2, 3)\n"));
        Assert.Contains(labels, l => l.StartsWith("MeanBackward1\n(2)\n"));
        Assert.DoesNotContain(labels, l => l.Contains("value [[") && l.Contains("\n      ")); // a matrix's rows on one line
    }

    [Fact]
    public void An_input_that_needs_no_gradient_is_left_out_unless_asked_for()
    {
        var (x, c) = (Variable("x"), Variable("c", requiresGrad: false));
        var y = Exp(c) * x + 3.0;
        var hidden = Dot.Render(y);
        Assert.DoesNotContain("(no grad)", hidden);
        Assert.DoesNotContain("ExpBackward0", hidden); // exp(c) needs no gradient either: not in PyTorch's graph
        Assert.DoesNotContain("plaintext", hidden);
        Assert.Equal(3, Lines(hidden, " -> ").Count); // x -> AccumulateGrad -> Mul -> Add

        var shown = Dot.Render(y, showInputs: true);
        Assert.Contains("c\\l(no grad)", shown);
        Assert.Contains("ExpBackward0", shown);
        Assert.Contains("label=\"3\\l\" fillcolor=white shape=plaintext", shown);
        Assert.Equal(3 + 3, Lines(shown, " -> ").Count); // and c -> Exp -> Mul, 3 -> Add
    }

    [Fact]
    public void A_lone_variable_is_the_output_and_needs_no_accumulator()
    {
        var dot = Dot.Render(Variable("x"));
        Assert.Contains("x\\l()\\l\" fillcolor=darkolivegreen1", dot);
        Assert.DoesNotContain("AccumulateGrad", dot);
    }
}
