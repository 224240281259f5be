using System.Numerics;

namespace DistributedBackprop.Core;

/// <summary>Evaluates nodes once each, in topological order, memoised by node identity.</summary>
internal sealed class Evaluator<T>(IReadOnlyDictionary<string, Tensor<T>> bindings) where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Dictionary<Expr, Tensor<T>> _memo = new(ReferenceEqualityComparer.Instance);

    public Tensor<T> Value(Expr node)
    {
        if (!_memo.TryGetValue(node, out var value))
        {
            EvaluateAll([node]);
            value = _memo[node];
        }
        return value;
    }

    public void EvaluateAll(IEnumerable<Expr> roots)
    {
        foreach (var node in Graph.TopologicalOrder(roots, _memo.ContainsKey))
            _memo[node] = Compute(node);
    }

    private Tensor<T> Compute(Expr node)
    {
        if (node is Op.Variable v)
            return bindings.TryGetValue(v.Name, out var bound) ? bound : throw new UnboundVariableException(v.Name);
        var inputs = node.Inputs;
        var x = new Tensor<T>[inputs.Length];
        var shapes = new int[inputs.Length][];
        for (int i = 0; i < inputs.Length; i++) { x[i] = _memo[inputs[i]]; shapes[i] = x[i].Dims; }
        var shape = Graph.InferShape(node, shapes);
        var y = new Tensor<T>(new T[Shapes.Size(shape)], shape);
        node.Forward(x, y);
        return y;
    }
}

/// <summary>A variable was evaluated without a value bound to its name.</summary>
public sealed class UnboundVariableException(string name) : Exception($"variable '{name}' has no value")
{
    /// <summary>The variable's name.</summary>
    public string Name { get; } = name;
}
