using System.Numerics;

namespace DistributedBackprop.Core;

/// <summary>
/// A graph compiled once for fixed input shapes — topological order, every node's shape and buffer laid
/// out — and run many times. Running writes only the plan's own buffers, and the same inputs always give the
/// same outputs; <see cref="Output"/> is a read-only view that the next <see cref="Run"/> overwrites.
/// A steady-state run allocates nothing on the managed heap.
/// </summary>
public sealed class Plan<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly record struct Step(Expr Node, Tensor<T>[] Inputs, Tensor<T> Output);

    // Where each variable's tensor goes: (step, input position), patched at every run.
    private readonly (string Name, int[] Shape, List<(int Step, int Slot)> Uses, List<int> Outputs)[] _variables;
    private readonly Step[] _steps;
    private readonly Tensor<T>[] _outputs;

    private Plan(IReadOnlyList<Expr> outputs, IReadOnlyDictionary<string, int[]> shapes)
    {
        var order = Graph.TopologicalOrder(outputs);
        var tensors = new Dictionary<Expr, Tensor<T>>(ReferenceEqualityComparer.Instance);
        var variables = new Dictionary<string, (string, int[], List<(int, int)>, List<int>)>();
        var steps = new List<Step>();
        foreach (var node in order)
        {
            if (node is Op.Variable v)
            {
                if (!shapes.TryGetValue(v.Name, out var shape)) throw new UnboundVariableException(v.Name);
                if (!variables.ContainsKey(v.Name)) variables[v.Name] = (v.Name, shape, [], []);
                tensors[node] = new Tensor<T>(new T[Shapes.Size(shape)], shape); // a placeholder, replaced at each run
                continue;
            }
            var inputs = node.Inputs.Select(i => tensors[i]).ToArray();
            var outShape = Graph.InferShape(node, inputs.Select(t => t.Dims).ToArray());
            var input0 = node.Inputs.Length > 0 ? node.Inputs[0] : null;
            if (IsView(node) && input0 is not Op.Variable && Shapes.Size(outShape) == inputs[0].Length)
            {
                tensors[node] = new Tensor<T>(inputs[0].Buffer, outShape); // same data, new shape: share the buffer
                continue;
            }
            var output = new Tensor<T>(new T[Shapes.Size(outShape)], outShape);
            tensors[node] = output;
            if (DependsOnShapeOnly(node)) { node.Forward(inputs, output); continue; } // computed once, here
            int stepIndex = steps.Count;
            steps.Add(new Step(node, inputs, output));
            for (int k = 0; k < node.Inputs.Length; k++)
                if (node.Inputs[k] is Op.Variable iv) variables[iv.Name].Item3.Add((stepIndex, k));
        }
        _steps = [.. steps];
        _outputs = outputs.Select(o => tensors[o]).ToArray();
        for (int i = 0; i < outputs.Count; i++)
            if (outputs[i] is Op.Variable ov) variables[ov.Name].Item4.Add(i);
        _variables = [.. variables.Values];
    }

    private static bool IsView(Expr node) => node is Op.Reshape or Op.ReshapeLike or Op.ExpandDims or Op.SumLike or Op.BroadcastLike;
    private static bool DependsOnShapeOnly(Expr node) => node is Op.Constant or Op.Fill or Op.Count;

    /// <summary>Compiles <paramref name="outputs"/> for variables of the given shapes.</summary>
    public static Plan<T> Compile(IReadOnlyList<Expr> outputs, IReadOnlyDictionary<string, int[]> shapes) => new(outputs, shapes);

    /// <summary>The names and shapes of the variables the plan reads.</summary>
    public IEnumerable<(string Name, int[] Shape)> Inputs => _variables.Select(v => (v.Name, v.Shape));

    /// <summary>The number of ops run each time (shape-only nodes and views are computed once, at compilation).</summary>
    public int StepCount => _steps.Length;

    /// <summary>Runs the plan on variables of the shapes it was compiled for; the outputs are then readable.</summary>
    public void Run(IReadOnlyDictionary<string, Tensor<T>> bindings)
    {
        foreach (var (name, shape, uses, outs) in _variables)
        {
            if (!bindings.TryGetValue(name, out var t)) throw new UnboundVariableException(name);
            if (!Shapes.Equal(t.Dims, shape)) throw new ShapeException($"{name} has shape {Shapes.Format(t.Dims)}, the plan was compiled for {Shapes.Format(shape)}");
            foreach (var (step, slot) in uses) _steps[step].Inputs[slot] = t;
            foreach (var o in outs) _outputs[o] = t;
        }
        foreach (var step in _steps) step.Node.Forward(step.Inputs, step.Output);
    }

    /// <summary>Runs <paramref name="runs"/> times, timing each op: where a step's time goes, by op kind and shape.</summary>
    public IReadOnlyList<(string Op, string Shape, double Microseconds)> Profile(IReadOnlyDictionary<string, Tensor<T>> bindings, int runs)
    {
        Run(bindings);
        var ticks = new long[_steps.Length];
        for (int r = 0; r < runs; r++)
            for (int i = 0; i < _steps.Length; i++)
            {
                long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                _steps[i].Node.Forward(_steps[i].Inputs, _steps[i].Output);
                ticks[i] += System.Diagnostics.Stopwatch.GetTimestamp() - t0;
            }
        return _steps.Select((s, i) => (s.Node.BackwardName, Shapes.Format(s.Output.Dims), ticks[i] * 1e6 / System.Diagnostics.Stopwatch.Frequency / runs)).ToList();
    }

    /// <summary>The i-th output of the last run: valid until the next run.</summary>
    public ReadOnlySpan<T> Output(int i) => _outputs[i].Buffer;
    /// <summary>The shape of the i-th output.</summary>
    public ReadOnlySpan<int> OutputShape(int i) => _outputs[i].Dims;
}
