namespace DistributedBackprop.Core;

/// <summary>Walks over expression graphs.</summary>
public static class Graph
{
    /// <summary>
    /// Every node reachable from <paramref name="roots"/>, each once, inputs before the nodes that use them.
    /// Iterative, so deep graphs cannot overflow the stack. Nodes for which <paramref name="stop"/> holds
    /// (already known) are neither listed nor walked through.
    /// </summary>
    public static List<Expr> TopologicalOrder(IEnumerable<Expr> roots, Func<Expr, bool>? stop = null)
    {
        var order = new List<Expr>();
        var seen = new HashSet<Expr>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Expr Node, bool Expanded)>();
        foreach (var root in roots) stack.Push((root, false));
        while (stack.Count > 0)
        {
            var (node, expanded) = stack.Pop();
            if (expanded) { order.Add(node); continue; }
            if (stop?.Invoke(node) == true || !seen.Add(node)) continue;
            stack.Push((node, true));
            var inputs = node.Inputs;
            for (int i = inputs.Length - 1; i >= 0; i--) stack.Push((inputs[i], false));
        }
        return order;
    }

    /// <summary>
    /// The shape of every node reachable from <paramref name="roots"/>, given its variables' shapes, without
    /// computing a value: what a graph will produce, e.g. the shape a layer's input has inside a model.
    /// </summary>
    public static Dictionary<Expr, int[]> InferShapes(IEnumerable<Expr> roots, IReadOnlyDictionary<string, int[]> variables)
    {
        var shapes = new Dictionary<Expr, int[]>(ReferenceEqualityComparer.Instance);
        foreach (var node in TopologicalOrder(roots))
            shapes[node] = node is Op.Variable v
                ? variables.TryGetValue(v.Name, out var s) ? s : throw new UnboundVariableException(v.Name)
                : InferShape(node, node.Inputs.Select(i => shapes[i]).ToArray());
        return shapes;
    }

    /// <summary>
    /// The nodes of <paramref name="order"/> (a topological order) that get a gradient: the variables that
    /// require one and every node that depends on such a variable.
    /// </summary>
    public static HashSet<Expr> NeedingGradients(IReadOnlyList<Expr> order)
    {
        var needsGrad = new HashSet<Expr>(ReferenceEqualityComparer.Instance);
        foreach (var node in order)
            if (node is Op.Variable { RequiresGrad: true } || node.Inputs.Any(needsGrad.Contains))
                needsGrad.Add(node);
        return needsGrad;
    }

    /// <summary>The node's output shape, with the node named in the error when its inputs do not fit.</summary>
    internal static int[] InferShape(Expr node, int[][] inputShapes)
    {
        try { return node.InferShape(inputShapes); }
        catch (ShapeException e) { throw new ShapeException($"{node.BackwardName.Replace("Backward0", "").Replace("Backward1", "")}: {e.Message}"); }
    }
}
