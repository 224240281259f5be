using DistributedBackprop.Core;
using DistributedBackprop.Data;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;

namespace DistributedBackprop.Benchmarks;

/// <summary>The two training runs the benchmarks and the profile measure, each as (settings, data).</summary>
public static class Workloads
{
    /// <summary>The notebook's regression: 200 points, 1-32-32-1 tanh, MSE, SGD lr 0.05, full batch, as <c>dbp train regression</c>.</summary>
    public static (TrainingSettings Settings, Dataset Data) Regression(int microShard)
    {
        var objective = new Objective(Sequential.Mlp(1, [32, 32], 1, "tanh"), LossKind.Mse);
        var settings = new TrainingSettings(objective, new Sgd(0.05), new Batches(200, 200, Shuffle: false, Seed: 0), Steps: 6000, microShard, Seed: 0);
        return (settings, NotebookRegression.Create(200, 0));
    }

    /// <summary>
    /// Fashion-MNIST's shape without its files: a 784-256-10 ReLU MLP, cross-entropy, SGD lr 0.1, shuffled
    /// minibatches as <c>dbp train fashion-mnist</c>, over seeded random pixels in [0, 1) and random labels.
    /// </summary>
    public static (TrainingSettings Settings, Dataset Data) Fashion(int batch, int microShard, int examples = 4096)
    {
        var objective = new Objective(Sequential.Mlp(784, [256], 10, "relu"), LossKind.CrossEntropy);
        var settings = new TrainingSettings(objective, new Sgd(0.1), new Batches(examples, batch, Shuffle: true, Seed: 0), Steps: 1000, microShard, Seed: 0);
        return (settings, SyntheticFashion(examples, seed: 0));
    }

    public static Dataset SyntheticFashion(int examples, int seed)
    {
        var rng = Rng.For(seed, "synthetic fashion");
        var pixels = new float[examples * 784];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (float)rng.NextDouble();
        var labels = new int[examples];
        for (int i = 0; i < labels.Length; i++) labels[i] = rng.NextInt(10);
        return Dataset.Classification(pixels, [examples, 784], labels, 10);
    }
}
