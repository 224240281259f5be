using DistributedBackprop.Core;
using DistributedBackprop.Nn;

namespace DistributedBackprop.Training;

/// <summary>
/// A worker's unit of work: (parameters, a micro-shard of examples) -> (gradient of the summed loss, the
/// summed loss). One compiled plan per shard size, reused every step; a run allocates nothing, and its
/// gradients are views valid until the next run. The same inputs give the same bits wherever it runs. A
/// model with dropout binds each layer's mask for the shard's examples at the step, drawn from
/// (objective's seed, step, example index) alone, into buffers kept per shard size: so a micro-shard's
/// gradient is the same wherever, and in whichever batch cut, it is computed.
/// </summary>
public sealed class ShardGradient(Objective objective)
{
    private readonly Expr _lossSum = objective.LossSum(objective.Prediction);
    private readonly Op.Variable[] _parameters = objective.Model.Parameters.Select(p => p.Variable).ToArray();
    private readonly Dropout[] _dropouts = objective.Model.Layers.OfType<Dropout>().Where(d => d.NeedsMask).ToArray();
    private readonly Dictionary<int, Plan<float>> _plans = [];
    private readonly Dictionary<int, (Dropout Layer, Tensor<float> Mask)[]> _masks = [];
    private IReadOnlyList<(string Name, int[] ExampleShape)>? _maskShapes;
    private Dictionary<string, Tensor<float>>? _bindings;
    private Plan<float>? _last;

    public Objective Objective => objective;

    /// <summary>Whether a shard needs its example indices and step: its model has dropout.</summary>
    public bool NeedsExamples => _dropouts.Length > 0;

    /// <summary>Runs a shard of a model without dropout; see <see cref="Run(Parameters{float}, Tensor{float}, Tensor{float}, ReadOnlySpan{int}, long)"/>.</summary>
    public double Run(Parameters<float> parameters, Tensor<float> x, Tensor<float> y) => Run(parameters, x, y, default, 0);

    /// <summary>
    /// Runs the shard of the data set's examples <paramref name="examples"/> (the rows of
    /// <paramref name="x"/>) at <paramref name="step"/>; returns its summed loss. Gradients follow in
    /// parameter order through <see cref="Gradient"/>. The examples and step are read only by dropout.
    /// </summary>
    public double Run(Parameters<float> parameters, Tensor<float> x, Tensor<float> y, ReadOnlySpan<int> examples, long step)
    {
        _bindings ??= new Dictionary<string, Tensor<float>>(StringComparer.Ordinal);
        for (int i = 0; i < parameters.Count; i++) _bindings[parameters[i].Name] = parameters[i].Value; // no enumerator to box
        _bindings[objective.X.Name] = x;
        _bindings[objective.Y.Name] = y;
        int rows = x.Shape[0];
        if (_dropouts.Length > 0) BindMasks(x, rows, examples, step);
        if (!_plans.TryGetValue(rows, out var plan))
        {
            var shapes = _bindings.ToDictionary(kv => kv.Key, kv => kv.Value.Shape.ToArray());
            _plans[rows] = plan = Backprop.CompileGradients<float>(_lossSum, _parameters, shapes);
        }
        plan.Run(_bindings);
        _last = plan;
        return plan.Output(0)[0];
    }

    private void BindMasks(Tensor<float> x, int rows, ReadOnlySpan<int> examples, long step)
    {
        if (examples.Length != rows) throw new ArgumentException($"a model with dropout needs the shard's {rows} example indices, got {examples.Length}");
        if (!_masks.TryGetValue(rows, out var masks))
        {
            _maskShapes ??= objective.Model.MaskShapes(x.Shape[1..].ToArray());
            masks = _maskShapes.Select(m => (_dropouts.Single(d => d.MaskVariable.Name == m.Name), new Tensor<float>(new float[rows * Shapes.Size(m.ExampleShape)], [rows, .. m.ExampleShape]))).ToArray();
            _masks[rows] = masks;
        }
        foreach (var (layer, mask) in masks)
        {
            layer.FillMask<float>(mask.Buffer, examples, step, objective.Seed);
            _bindings![layer.MaskVariable.Name] = mask;
        }
    }

    /// <summary>The i-th parameter's gradient (of the summed loss) from the last run.</summary>
    public ReadOnlySpan<float> Gradient(int i) => (_last ?? throw new InvalidOperationException("no shard has run")).Output(i + 1);
}
