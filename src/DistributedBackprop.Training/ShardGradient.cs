using DistributedBackprop.Core;
using DistributedBackprop.Nn;

namespace DistributedBackprop.Training;

/// <summary>
/// A worker's unit of work: (parameters, a micro-shard of examples) -> (gradient of the summed loss, the
/// summed loss). One compiled plan per shard size, reused every step; a run allocates nothing, and its
/// gradients are views valid until the next run. The same inputs give the same bits wherever it runs.
/// </summary>
public sealed class ShardGradient(Objective objective)
{
    private readonly Expr _lossSum = objective.LossSum(objective.Prediction);
    private readonly Op.Variable[] _parameters = objective.Model.Parameters.Select(p => p.Variable).ToArray();
    private readonly Dictionary<int, Plan<float>> _plans = [];
    private Dictionary<string, Tensor<float>>? _bindings;
    private Plan<float>? _last;

    public Objective Objective => objective;

    /// <summary>Runs the shard; returns its summed loss. Gradients follow in parameter order through <see cref="Gradient"/>.</summary>
    public double Run(Parameters<float> parameters, Tensor<float> x, Tensor<float> y)
    {
        _bindings ??= new Dictionary<string, Tensor<float>>(StringComparer.Ordinal);
        for (int i = 0; i < parameters.Count; i++) _bindings[parameters[i].Name] = parameters[i].Value; // no enumerator to box
        _bindings[objective.X.Name] = x;
        _bindings[objective.Y.Name] = y;
        int rows = x.Shape[0];
        if (!_plans.TryGetValue(rows, out var plan))
        {
            var shapes = _bindings.ToDictionary(kv => kv.Key, kv => kv.Value.Shape.ToArray());
            _plans[rows] = plan = Backprop.CompileGradients<float>(_lossSum, _parameters, shapes);
        }
        plan.Run(_bindings);
        _last = plan;
        return plan.Output(0)[0];
    }

    /// <summary>The i-th parameter's gradient (of the summed loss) from the last run.</summary>
    public ReadOnlySpan<float> Gradient(int i) => (_last ?? throw new InvalidOperationException("no shard has run")).Output(i + 1);
}
