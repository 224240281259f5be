using System.Globalization;
using System.Text;

namespace DistributedBackprop.Core;

/// <summary>
/// The computation graph as Graphviz DOT, drawn the way torchviz's <c>make_dot</c> draws it: each variable that
/// requires a gradient as a light-blue box with its name and shape feeding an <c>AccumulateGrad</c> node, one
/// gray box per op named after its backward function, the output in green, arrows from inputs to the ops that
/// use them. What needs no gradient — constants, variables marked as not requiring one and ops over nothing
/// else — is left out, as torchviz leaves it out, unless <c>showInputs</c> asks for it. Every node shows its
/// shape: from the values where they are given, else inferred with every variable a scalar (where that fits).
/// Given values, each node also shows its value and the output's gradient with respect to it.
/// </summary>
public static class Dot
{
    /// <summary>
    /// The DOT text of <paramref name="output"/>'s graph; <paramref name="names"/> label nodes (a program's
    /// definitions), <paramref name="values"/> adds each node's value, gradient and shape, and
    /// <paramref name="showInputs"/> draws what needs no gradient too.
    /// </summary>
    public static string Render(Expr output, IReadOnlyDictionary<Expr, string>? names = null, Gradients<double>? values = null, bool showInputs = false)
    {
        names ??= new Dictionary<Expr, string>(ReferenceEqualityComparer.Instance);
        var order = Graph.TopologicalOrder([output]);
        var needsGrad = Graph.NeedingGradients(order);
        var scalarShapes = values is null ? ScalarShapes(output, order) : null;
        int[]? ShapeOf(Expr node) => values is not null ? values.ValueOf(node).Dims : scalarShapes?.GetValueOrDefault(node);
        bool Drawn(Expr node) => showInputs || needsGrad.Contains(node) || ReferenceEquals(node, output);

        var id = new Dictionary<Expr, string>(ReferenceEqualityComparer.Instance);
        var source = new Dictionary<Expr, string>(ReferenceEqualityComparer.Instance); // where a node's arrows start
        var sb = new StringBuilder();
        sb.AppendLine("digraph {");
        sb.AppendLine("  graph [size=\"12,12\" rankdir=TB]");
        sb.AppendLine("  node [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled]");
        void Node(string nodeId, List<string> lines, string fill, string extra = "") =>
            sb.Append("  ").Append(nodeId).Append(" [label=\"").Append(Escape(string.Join("\n", lines)))
              .Append("\" fillcolor=").Append(fill).Append(extra).AppendLine("]");

        foreach (var node in order.Where(Drawn))
        {
            id[node] = source[node] = "n" + id.Count.ToString(CultureInfo.InvariantCulture);
            bool isOutput = ReferenceEquals(node, output);
            var lines = new List<string>();
            string fill, extra = "";
            switch (node)
            {
                case Op.Variable v:
                    lines.Add(v.Name);
                    fill = isOutput ? "darkolivegreen1" : v.RequiresGrad ? "lightblue" : "white";
                    if (!v.RequiresGrad) lines.Add("(no grad)");
                    break;
                case Op.Constant c:
                    lines.Add(c.Value.Length == 1 ? c.Value.Buffer[0].ToString("G6", CultureInfo.InvariantCulture) : "const " + ShapeText(c.Value.Dims));
                    fill = "white";
                    extra = " shape=plaintext fontcolor=gray30";
                    break;
                default:
                    if (names.TryGetValue(node, out var name)) lines.Add(name);
                    lines.Add(node.BackwardName);
                    fill = isOutput ? "darkolivegreen1" : "lightgray";
                    break;
            }
            if (node is not Op.Constant && ShapeOf(node) is { } shape) lines.Add(ShapeText(shape));
            if (values is not null && node is not Op.Constant)
            {
                lines.Add("value " + Describe(values.ValueOf(node)));
                if (values.Of(node) is { } g) lines.Add("grad  " + Describe(g));
            }
            Node(id[node], lines, fill, extra);
            if (node is Op.Variable { RequiresGrad: true } && !isOutput)
            {
                // A parameter reaches the ops that use it through its gradient accumulator, as in PyTorch's graph.
                source[node] = id[node] + "_acc";
                Node(source[node], ["AccumulateGrad"], "lightgray");
                sb.Append("  ").Append(id[node]).Append(" -> ").AppendLine(source[node]);
            }
        }
        foreach (var node in order.Where(Drawn))
            foreach (var input in node.Inputs.Where(Drawn))
                sb.Append("  ").Append(source[input]).Append(" -> ").AppendLine(id[node]);
        sb.AppendLine("}");
        return sb.ToString();
    }

    /// <summary>Every node's shape with every variable a scalar, or null where the graph does not fit that.</summary>
    private static Dictionary<Expr, int[]>? ScalarShapes(Expr output, List<Expr> order)
    {
        var scalars = order.OfType<Op.Variable>().Select(v => v.Name).Distinct().ToDictionary(n => n, _ => Array.Empty<int>());
        try { return Graph.InferShapes([output], scalars); }
        catch (ShapeException) { return null; }
    }

    private static string ShapeText(int[] shape) => "(" + string.Join(", ", shape) + ")";

    private static string Describe(Tensor<double> t) =>
        t.Length == 1 ? t.Buffer[0].ToString("G5", CultureInfo.InvariantCulture)
        : t.Length <= 6 ? System.Text.RegularExpressions.Regex.Replace(t.Format(4), "\n *", " ")
        : ShapeText(t.Dims);

    private static string Escape(string s) => s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\l") + "\\l";
}
