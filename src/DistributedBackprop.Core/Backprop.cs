using System.Numerics;

namespace DistributedBackprop.Core;

/// <summary>
/// Reverse-mode differentiation as pure functions. <see cref="GradientGraph"/> turns a graph into the
/// gradient expressions of its output with respect to every node; <see cref="Gradients{T}"/> evaluates both.
/// Nothing here mutates a node.
/// </summary>
public static class Backprop
{
    /// <summary>
    /// The gradient expression of <paramref name="output"/> with respect to every node it depends on through
    /// variables that require gradients (PyTorch's <c>retain_grad</c> for all of them). Nodes with no such
    /// path have no entry. The seed defaults to ones of the output's shape (the gradient of its sum).
    /// </summary>
    public static IReadOnlyDictionary<Expr, Expr> GradientGraph(Expr output, Expr? seed = null)
    {
        var order = Graph.TopologicalOrder([output]);
        var needsGrad = Graph.NeedingGradients(order);

        var grads = new Dictionary<Expr, Expr>(ReferenceEqualityComparer.Instance);
        if (!needsGrad.Contains(output)) return grads;
        grads[output] = seed ?? new Op.Fill(output, 1.0);
        for (int i = order.Count - 1; i >= 0; i--)
        {
            var node = order[i];
            if (!grads.TryGetValue(node, out var g)) continue;
            var inputs = node.Inputs;
            var contributions = node.Backward(g);
            for (int k = 0; k < inputs.Length; k++)
            {
                if (contributions[k] is not Expr c || !needsGrad.Contains(inputs[k])) continue;
                grads[inputs[k]] = grads.TryGetValue(inputs[k], out var sum) ? new Op.Add(sum, c) : c;
            }
        }
        return grads;
    }

    /// <summary>The value of <paramref name="output"/> with no gradient work (PyTorch's <c>torch.no_grad()</c>).</summary>
    public static Tensor<T> Evaluate<T>(Expr output, IReadOnlyDictionary<string, Tensor<T>> bindings)
        where T : unmanaged, IFloatingPointIeee754<T> => new Evaluator<T>(bindings).Value(output);

    /// <summary>Values of every node and gradients of the output with respect to every node that gets one.</summary>
    public static Gradients<T> Gradients<T>(Expr output, IReadOnlyDictionary<string, Tensor<T>> bindings)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var graph = GradientGraph(output);
        var evaluator = new Evaluator<T>(bindings);
        evaluator.EvaluateAll([output, .. graph.Values]);
        var grads = new Dictionary<Expr, Tensor<T>>(ReferenceEqualityComparer.Instance);
        foreach (var (node, g) in graph) grads[node] = evaluator.Value(g);
        return new Gradients<T>(output, evaluator, grads);
    }

    /// <summary>
    /// A plan whose output 0 is <paramref name="output"/> and output i+1 its gradient with respect to
    /// <paramref name="wrt"/>[i] (zeros where there is no path): the compiled form of <see cref="Gradients{T}"/>.
    /// </summary>
    public static Plan<T> CompileGradients<T>(Expr output, IReadOnlyList<Expr> wrt, IReadOnlyDictionary<string, int[]> shapes)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var graph = GradientGraph(output);
        return Plan<T>.Compile([output, .. wrt.Select(w => graph.GetValueOrDefault(w) ?? new Op.Fill(w, 0))], shapes);
    }

    /// <summary>
    /// The Jacobian of <paramref name="output"/> with respect to each node of <paramref name="wrt"/>: entry
    /// [i..., j...] is d output[i...] / d node[j...], a tensor of the output's shape followed by the node's
    /// (PyTorch's <c>torch.autograd.functional.jacobian</c>); zeros where the output does not depend on the node.
    /// One backward pass per element of the output, each seeded with that element's one-hot tensor.
    /// </summary>
    public static IReadOnlyList<Tensor<double>> Jacobian(Expr output, IReadOnlyList<Expr> wrt, IReadOnlyDictionary<string, Tensor<double>> bindings)
    {
        const string seedName = "$seed"; // no program can name it: not an identifier
        var graph = GradientGraph(output, new Op.Variable(seedName, RequiresGrad: false));
        var forward = new Evaluator<double>(bindings);
        var y = forward.Value(output);
        var sizes = wrt.Select(w => forward.Value(w).Length).ToArray();
        var data = sizes.Select(n => new double[y.Length * n]).ToArray();
        var seeded = new Dictionary<string, Tensor<double>>(bindings);
        for (int i = 0; i < y.Length; i++)
        {
            var oneHot = new double[y.Length];
            oneHot[i] = 1;
            seeded[seedName] = new Tensor<double>(oneHot, y.Dims);
            var evaluator = new Evaluator<double>(seeded);
            for (int k = 0; k < wrt.Count; k++)
                if (graph.GetValueOrDefault(wrt[k]) is { } g) evaluator.Value(g).Buffer.CopyTo(data[k], i * sizes[k]);
        }
        return wrt.Select((w, k) => new Tensor<double>(data[k], [.. y.Dims, .. forward.Value(w).Dims])).ToList();
    }

    /// <summary>
    /// Second derivatives of a scalar output with respect to scalar variables, by differentiating the gradient
    /// expressions again. Entry [i, j] is d²f / d(variables[i]) d(variables[j]); 0 where f does not depend on them.
    /// </summary>
    public static double[,] Hessian(Expr output, IReadOnlyList<string> variables, IReadOnlyDictionary<string, Tensor<double>> bindings)
    {
        var byName = Graph.TopologicalOrder([output]).OfType<Op.Variable>().ToDictionary(v => v.Name);
        foreach (var name in variables)
            if (bindings.TryGetValue(name, out var t) && t.Length != 1)
                throw new ShapeException($"the Hessian is over scalar variables; {name} has shape {Shapes.Format(t.Dims)}");
        var first = GradientGraph(output);
        var evaluator = new Evaluator<double>(bindings);
        var hessian = new double[variables.Count, variables.Count];
        for (int i = 0; i < variables.Count; i++)
        {
            if (!byName.TryGetValue(variables[i], out var vi) || !first.TryGetValue(vi, out var gi)) continue;
            var second = GradientGraph(gi);
            for (int j = 0; j < variables.Count; j++)
                if (byName.TryGetValue(variables[j], out var vj) && second.TryGetValue(vj, out var gij))
                    hessian[i, j] = evaluator.Value(gij).Item();
        }
        return hessian;
    }
}

/// <summary>The result of <see cref="Backprop.Gradients{T}"/>: immutable values and gradients, keyed by node.</summary>
public sealed class Gradients<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Evaluator<T> _values;
    private readonly Dictionary<Expr, Tensor<T>> _grads;

    internal Gradients(Expr output, Evaluator<T> values, Dictionary<Expr, Tensor<T>> grads)
    {
        Output = output;
        _values = values;
        _grads = grads;
    }

    /// <summary>The node whose gradients these are.</summary>
    public Expr Output { get; }
    /// <summary>The output's value.</summary>
    public Tensor<T> Value() => _values.Value(Output);
    /// <summary>A node's value (computed on first use where the backward pass did not need it).</summary>
    public Tensor<T> ValueOf(Expr node) => _values.Value(node);

    /// <summary>d output / d node, or null where the node gets no gradient (PyTorch's <c>grad is None</c>).</summary>
    public Tensor<T>? Of(Expr node) => _grads.GetValueOrDefault(node);

    /// <summary>Like <see cref="Of"/>, but zeros of the node's shape where the output does not depend on it.</summary>
    public Tensor<T> OfOrZero(Expr node) => Of(node) ?? Tensor<T>.Zeros(ValueOf(node).Dims);
}
