using DistributedBackprop.Core;
using DistributedBackprop.Data;
using DistributedBackprop.Nn;

namespace DistributedBackprop.Training;

/// <summary>Classification accuracy of a model on a data set: forward passes only (evaluation mode), in compiled batches.</summary>
public sealed class Accuracy(Objective objective, int batchSize = 1000)
{
    private readonly Expr _logits = objective.Evaluation;
    private readonly Dictionary<int, Plan<float>> _plans = [];

    public double Of(Parameters<float> parameters, Dataset data)
    {
        if (data.Labels is null) throw new ArgumentException("accuracy needs a classification data set");
        var bindings = parameters.ToBindings();
        int correct = 0;
        var x = new float[Math.Min(batchSize, data.Count) * data.InputSize];
        var y = new float[Math.Min(batchSize, data.Count) * data.TargetSize];
        var indices = new int[Math.Min(batchSize, data.Count)];
        for (int start = 0; start < data.Count; start += batchSize)
        {
            int n = Math.Min(batchSize, data.Count - start);
            for (int i = 0; i < n; i++) indices[i] = start + i;
            data.Gather(indices.AsSpan(0, n), x, y);
            bindings[objective.X.Name] = new Tensor<float>(n == x.Length / data.InputSize ? x : x[..(n * data.InputSize)], [n, .. data.InputShape]);
            if (!_plans.TryGetValue(n, out var plan))
                _plans[n] = plan = Plan<float>.Compile([_logits], bindings.ToDictionary(kv => kv.Key, kv => kv.Value.Shape.ToArray()));
            plan.Run(bindings);
            var logits = plan.Output(0);
            int classes = logits.Length / n;
            for (int i = 0; i < n; i++)
            {
                var row = logits.Slice(i * classes, classes);
                int best = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(row);
                if (best == data.Labels[start + i]) correct++;
            }
        }
        return (double)correct / data.Count;
    }
}
