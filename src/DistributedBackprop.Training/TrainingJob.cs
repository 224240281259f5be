using DistributedBackprop.Data;
using DistributedBackprop.Nn;
using MessagePack;

namespace DistributedBackprop.Training;

/// <summary>A job that cannot be built as described: an unknown task, a model that cannot exist.</summary>
public sealed class JobException(string message) : Exception(message);

/// <summary>
/// What a training job computes with, apart from the optimizer and schedule: the task, the model and where
/// the data comes from. A cluster's worker nodes receive it (the data set's description travels, not the
/// data) and build their own model and data from it, so every field is checked before it is used.
/// </summary>
[MessagePackObject]
public sealed record TrainingJob(
    [property: Key(0)] string Task,
    [property: Key(1)] int[] Hidden,
    [property: Key(2)] string Activation,
    [property: Key(3)] int Samples,
    [property: Key(4)] int Seed,
    [property: Key(5)] string? DataFolder)
{
    public const string Regression = "regression", Fashion = "fashion-mnist";

    public Objective Objective()
    {
        if (Hidden is null || Hidden.Length == 0 || Hidden.Any(w => w <= 0))
            throw new JobException("the model needs one or more positive hidden layer widths");
        if (!Sequential.Activations.Contains(Activation))
            throw new JobException($"unknown activation '{Activation}' ({Sequential.ActivationList})");
        return Task switch
        {
            Regression => new Objective(Sequential.Mlp(1, Hidden, 1, Activation), LossKind.Mse),
            Fashion => new Objective(Sequential.Mlp(784, Hidden, FashionMnist.Classes, Activation), LossKind.CrossEntropy),
            _ => throw UnknownTask(),
        };
    }

    /// <summary>The training data (and, for Fashion-MNIST, the test data).</summary>
    public (Dataset Train, Dataset? Test) Data() => Task switch
    {
        Regression when Samples <= 0 => throw new JobException($"the regression needs a positive number of samples, not {Samples}"),
        Regression => (NotebookRegression.Create(Samples, Seed), null),
        Fashion => FashionMnist.Load(DataFolder ?? FashionMnist.DefaultFolder) is var (train, test) ? (train, test) : default,
        _ => throw UnknownTask(),
    };

    private JobException UnknownTask() => new($"unknown task '{Task}' ({Regression} or {Fashion})");
}
