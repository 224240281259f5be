using System.Globalization;
using System.Text;

namespace DistributedBackprop.Core;

/// <summary>
/// The computation graph as Graphviz DOT, drawn the way torchviz's <c>make_dot</c> draws it: variables as
/// light-blue boxes with name and shape, one gray box per op named after its backward function, the output
/// in green, arrows from inputs to the ops that use them. Given values, each node also shows its value and
/// the output's gradient with respect to it.
/// </summary>
public static class Dot
{
    public static string Render(Expr output, IReadOnlyDictionary<Expr, string>? names = null, Gradients<double>? values = null)
    {
        names ??= new Dictionary<Expr, string>(ReferenceEqualityComparer.Instance);
        var order = Graph.TopologicalOrder([output]);
        var id = new Dictionary<Expr, string>(ReferenceEqualityComparer.Instance);
        var sb = new StringBuilder();
        sb.AppendLine("digraph {");
        sb.AppendLine("  graph [size=\"12,12\" rankdir=TB]");
        sb.AppendLine("  node [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled]");
        foreach (var node in order)
        {
            id[node] = "n" + id.Count.ToString(CultureInfo.InvariantCulture);
            var lines = new List<string>();
            string fill, extra = "";
            switch (node)
            {
                case Op.Variable v:
                    lines.Add(v.Name + (values is null || values.ValueOf(v).Rank == 0 ? "" : " " + ShapeText(values.ValueOf(v))));
                    fill = v.RequiresGrad ? "lightblue" : "white";
                    if (!v.RequiresGrad) lines.Add("(no grad)");
                    break;
                case Op.Constant c:
                    lines.Add(c.Value.Length == 1 ? c.Value.Buffer[0].ToString("G6", CultureInfo.InvariantCulture) : "const " + ShapeText(c.Value));
                    fill = "white";
                    extra = " shape=plaintext fontcolor=gray30";
                    break;
                default:
                    if (names.TryGetValue(node, out var name)) lines.Add(name);
                    lines.Add(node.BackwardName);
                    fill = ReferenceEquals(node, output) ? "darkolivegreen1" : "lightgray";
                    break;
            }
            if (values is not null && node is not Op.Constant)
            {
                lines.Add("value " + Describe(values.ValueOf(node)));
                if (values.Of(node) is { } g) lines.Add("grad  " + Describe(g));
            }
            sb.Append("  ").Append(id[node]).Append(" [label=\"").Append(Escape(string.Join("\n", lines)))
              .Append("\" fillcolor=").Append(fill).Append(extra).AppendLine("]");
        }
        foreach (var node in order)
            foreach (var input in node.Inputs)
                sb.Append("  ").Append(id[input]).Append(" -> ").AppendLine(id[node]);
        sb.AppendLine("}");
        return sb.ToString();
    }

    private static string ShapeText(Tensor<double> t) => "(" + string.Join(", ", t.Dims) + ")";

    private static string Describe(Tensor<double> t) =>
        t.Length == 1 ? t.Buffer[0].ToString("G5", CultureInfo.InvariantCulture)
        : t.Length <= 6 ? t.Format(4).Replace("\n", " ")
        : ShapeText(t);

    private static string Escape(string s) => s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\l") + "\\l";
}
