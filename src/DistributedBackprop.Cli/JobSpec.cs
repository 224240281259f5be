using System.Text.Json;
using DistributedBackprop.Data;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;

namespace DistributedBackprop.Cli;

/// <summary>
/// What a training job computes with, apart from the optimizer and schedule: the task, the model and where
/// the data comes from. A cluster's workers receive it as JSON and build their own model and data from it
/// (the data set's description travels, not the data).
/// </summary>
public sealed record JobSpec(string Task, int[] Hidden, string Activation, int Samples, int Seed, string? DataFolder)
{
    public const string Regression = "regression", Fashion = "fashion-mnist";

    public Objective Objective() => Task switch
    {
        Regression => new Objective(Sequential.Mlp(1, Hidden, 1, Activation), LossKind.Mse),
        Fashion => new Objective(Sequential.Mlp(784, Hidden, FashionMnist.Classes, Activation), LossKind.CrossEntropy),
        _ => throw new UsageException($"unknown task '{Task}'"),
    };

    /// <summary>The training data (and, for Fashion-MNIST, the test data).</summary>
    public (Dataset Train, Dataset? Test) Data() => Task switch
    {
        Regression => (NotebookRegression.Create(Samples, Seed), null),
        Fashion => FashionMnist.Load(DataFolder ?? FashionMnist.DefaultFolder) is var (train, test) ? (train, test) : default,
        _ => throw new UsageException($"unknown task '{Task}'"),
    };

    public string ToJson() => JsonSerializer.Serialize(this);

    public static JobSpec FromJson(string json) =>
        JsonSerializer.Deserialize<JobSpec>(json) ?? throw new UsageException("empty job description");
}
