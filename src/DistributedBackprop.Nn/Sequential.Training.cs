using System.Numerics;
using DistributedBackprop.Core;

namespace DistributedBackprop.Nn;

// Training and evaluation graphs, and the dropout masks a training graph reads.
public sealed partial record Sequential
{
    /// <summary>
    /// The graph in training mode (dropout multiplies by its mask variables) or in evaluation mode (dropout is
    /// the identity: PyTorch's <c>model.eval()</c>, for predictions and accuracy). <see cref="Forward(Expr)"/>
    /// is training mode, PyTorch's default.
    /// </summary>
    public Expr Forward(Expr x, bool training) => Layers.Aggregate(x, (h, layer) => layer.Forward(h, training));

    /// <summary>
    /// The mask variables a training graph reads, in layer order, each with the shape of one example's mask,
    /// for inputs whose examples have shape <paramref name="exampleShape"/> (axis 0 of an input is the example).
    /// </summary>
    public IReadOnlyList<(string Name, int[] ExampleShape)> MaskShapes(params int[] exampleShape)
    {
        var input = Expr.Variable("input", requiresGrad: false);
        Expr h = input;
        var before = new List<(Dropout Layer, Expr Input)>();
        foreach (var layer in Layers)
        {
            if (layer is Dropout { NeedsMask: true } dropout) before.Add((dropout, h));
            h = layer.Forward(h, training: false);
        }
        if (before.Count == 0) return [];
        var shapes = Parameters.ToDictionary(p => p.Name, p => p.Shape);
        shapes[input.Name] = [1, .. exampleShape];
        var inferred = Graph.InferShapes(before.Select(b => b.Input), shapes);
        return before.Select(b => (b.Layer.MaskVariable.Name, inferred[b.Input][1..])).ToList();
    }

    /// <summary>
    /// Bindings for every mask variable of a training graph at <paramref name="step"/>, for the batch or shard
    /// of <paramref name="examples"/> (indices in the data set, in the rows' order): add them to the bindings
    /// of the parameters and the data. A pure function, so every worker builds the same masks for an example.
    /// </summary>
    public Dictionary<string, Tensor<T>> Masks<T>(int[] exampleShape, IReadOnlyList<int> examples, long step, int seed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var byName = Layers.OfType<Dropout>().ToDictionary(d => d.MaskVariable.Name);
        return MaskShapes(exampleShape).ToDictionary(m => m.Name, m => byName[m.Name].Mask<T>(m.ExampleShape, examples, step, seed));
    }
}
