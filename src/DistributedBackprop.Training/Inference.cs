using DistributedBackprop.Core;
using DistributedBackprop.Data;
using DistributedBackprop.Nn;

namespace DistributedBackprop.Training;

/// <summary>
/// A model run forward in evaluation mode (dropout off), in compiled batches: its outputs for new inputs, and
/// its mean loss and classification accuracy on a labelled data set. Forward passes only, no gradients.
/// </summary>
public sealed class Inference(Objective objective, int batchSize = 1000)
{
    private readonly Expr _output = objective.Evaluation;
    private readonly Expr _lossSum = objective.LossSum(objective.Evaluation);
    private readonly Dictionary<(int Rows, bool Loss), Plan<float>> _plans = [];

    /// <summary>The model's outputs (logits for a classifier), [rows, outputs], for standardised inputs [rows, features].</summary>
    public float[] Outputs(Parameters<float> parameters, ReadOnlySpan<float> inputs, int rows)
    {
        int features = inputs.Length / Math.Max(1, rows);
        var bindings = parameters.ToBindings();
        var result = new List<float>();
        for (int start = 0; start < rows; start += batchSize)
        {
            int n = Math.Min(batchSize, rows - start);
            bindings[objective.X.Name] = Tensor<float>.FromArray(inputs.Slice(start * features, n * features), n, features);
            result.AddRange(Run(bindings, n, loss: false).Output(0));
        }
        return [.. result];
    }

    /// <summary>The mean loss over <paramref name="data"/> and, for class targets, the share of examples whose largest output is their class.</summary>
    public (double Loss, double? Accuracy) Evaluate(Parameters<float> parameters, Dataset data)
    {
        var bindings = parameters.ToBindings();
        double lossSum = 0;
        int correct = 0, size = Math.Min(batchSize, data.Count);
        var x = new float[size * data.InputSize];
        var y = new float[size * data.TargetSize];
        var indices = new int[size];
        for (int start = 0; start < data.Count; start += batchSize)
        {
            int n = Math.Min(batchSize, data.Count - start);
            for (int i = 0; i < n; i++) indices[i] = start + i;
            data.Gather(indices.AsSpan(0, n), x, y);
            bindings[objective.X.Name] = Tensor<float>.FromArray(x.AsSpan(0, n * data.InputSize), [n, .. data.InputShape]);
            bindings[objective.Y.Name] = Tensor<float>.FromArray(y.AsSpan(0, n * data.TargetSize), [n, .. data.TargetShape]);
            var plan = Run(bindings, n, loss: true);
            lossSum += plan.Output(0)[0];
            if (data.Labels is null) continue;
            var outputs = plan.Output(1);
            int classes = outputs.Length / n;
            for (int i = 0; i < n; i++)
                if (System.Numerics.Tensors.TensorPrimitives.IndexOfMax(outputs.Slice(i * classes, classes)) == data.Labels[start + i]) correct++;
        }
        return (lossSum / data.Count, data.Labels is null ? null : (double)correct / data.Count);
    }

    private Plan<float> Run(Dictionary<string, Tensor<float>> bindings, int rows, bool loss)
    {
        if (!_plans.TryGetValue((rows, loss), out var plan))
            _plans[(rows, loss)] = plan = Plan<float>.Compile(loss ? [_lossSum, _output] : [_output], bindings.ToDictionary(kv => kv.Key, kv => kv.Value.Shape.ToArray()));
        plan.Run(bindings);
        return plan;
    }
}
