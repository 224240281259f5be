using DistributedBackprop.Core;
using DistributedBackprop.Data;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;

namespace DistributedBackprop.Training.Tests;

/// <summary>Dropout in training: masks bound by every shard from (seed, step, example), evaluation without them.</summary>
public class DropoutTrainingTests
{
    internal static readonly Sequential Model = ModelSpec.Build(ModelSpec.Parse("linear:16,relu,dropout:0.3,linear:16,tanh,dropout:0.2,linear"), 1, 1);

    internal static TrainingSettings Settings(int seed = 0, int microShard = 16, long steps = 30) =>
        new(new Objective(Model, LossKind.Mse) { Seed = seed }, new Adam(0.01), new Batches(100, 40, Shuffle: true, seed), steps, microShard, seed);

    private static readonly Dataset Data = NotebookRegression.Create(100, 0);

    [Fact]
    public void A_shards_gradient_is_the_graphs_gradient_with_the_examples_masks()
    {
        var s = Settings();
        var parameters = TrainingState.Start(s).Parameters;
        int[] examples = [7, 3, 91, 40, 12];
        var (x, y) = Data.Gather(examples);
        var shard = new ShardGradient(s.Objective);
        Assert.True(shard.NeedsExamples);
        double loss = shard.Run(parameters, x, y, examples, step: 5);

        var bindings = parameters.ToBindings();
        bindings["x"] = x;
        bindings["y"] = y;
        foreach (var (name, mask) in Model.Masks<float>([1], examples, 5, seed: 0)) bindings[name] = mask;
        var expected = Backprop.Gradients(s.Objective.LossSum(s.Objective.Prediction), bindings);
        Assert.Equal(expected.Value().Data[0], (float)loss);
        for (int i = 0; i < parameters.Count; i++)
        {
            var variable = Model.Parameters[i].Variable;
            Assert.Equal(expected.Of(variable)!.Data.ToArray(), shard.Gradient(i).ToArray());
        }
        // Another step draws other masks, so another gradient.
        shard.Run(parameters, x, y, examples, step: 6);
        Assert.NotEqual(expected.Of(Model.Parameters[0].Variable)!.Data.ToArray(), shard.Gradient(0).ToArray());
        Assert.Throws<ArgumentException>(() => shard.Run(parameters, x, y, examples[..2], step: 5));
    }

    [Fact]
    public void Training_with_dropout_is_a_function_of_the_seed()
    {
        var a = Settings();
        var first = new Trainer(a, Data).Run(TrainingState.Start(a), a.Steps).Parameters.Hash();
        Assert.Equal(first, new Trainer(a, Data).Run(TrainingState.Start(a), a.Steps).Parameters.Hash());
        // The same start and batches, other masks: only the dropout seed differs.
        var b = a with { Objective = a.Objective with { Seed = 1 } };
        Assert.NotEqual(first, new Trainer(b, Data).Run(TrainingState.Start(b), b.Steps).Parameters.Hash());
        Assert.NotEqual(CheckpointPolicy.Fingerprint(a), CheckpointPolicy.Fingerprint(b));
    }

    [Fact]
    public void Evaluation_is_without_dropout_and_needs_no_masks()
    {
        var s = Settings();
        var parameters = TrainingState.Start(s).Parameters;
        var outputs = new Inference(s.Objective).Outputs(parameters, Data.Inputs.Data, Data.Count);
        var bindings = parameters.ToBindings();
        bindings["x"] = Data.Inputs;
        Assert.Equal(Backprop.Evaluate(Model.Forward(s.Objective.X, training: false), bindings).Data.ToArray(), outputs);
        var (loss, accuracy) = new Inference(s.Objective).Evaluate(parameters, Data);
        Assert.Null(accuracy);
        Assert.Equal(outputs.Select((o, i) => (o - (double)Data.Targets.Data[i]) * (o - Data.Targets.Data[i])).Average(), loss, 5);
    }
}

/// <summary>The csv job as a worker node receives it: every field checked, the file's hash before its values.</summary>
public class CsvJobTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dbp-job-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_worker_refuses_a_file_that_is_not_the_jobs()
    {
        var path = Path.Combine(_dir, "d.csv");
        File.WriteAllText(path, "x,y\n1,a\n2,b\n");
        var source = new CsvSource(path, "y", null, 0, null, Tabular.Hash(path));
        var job = new TrainingJob(TrainingJob.CsvTask, [4], "relu", 0, 0, null, Csv: source);
        Assert.Equal(2, job.Prepare(loadHeld: false).Train.Count);
        File.WriteAllText(path, "x,y\n1,a\n2,c\n");
        Assert.Contains("not the file the job was made from", Assert.Throws<DataException>(() => job.Prepare(loadHeld: false)).Message);
    }

    [Theory]
    [InlineData("relative.csv", "y", null, 0.0, "must be an absolute path")]
    [InlineData("/etc/passwd", "y", null, 0.0, "must end in .csv")]
    [InlineData("/d.csv", "", null, 0.0, "needs a name")]
    [InlineData("/d.csv", "y", "clustering", 0.0, "unknown task 'clustering'")]
    [InlineData("/d.csv", "y", null, 1.5, "validation share")]
    public void Impossible_descriptions_are_refused_before_a_file_is_opened(string path, string target, string? kind, double validation, string expected)
    {
        var job = new TrainingJob(TrainingJob.CsvTask, [4], "relu", 0, 0, null, Csv: new CsvSource(path, target, kind, validation, null, new string('0', 64)));
        Assert.Contains(expected, Assert.Throws<JobException>(() => job.Prepare()).Message);
        Assert.Contains("hash", new CsvSource("/d.csv", "y", null, 0, null, "XYZ").Problem());
    }

    [Theory]
    [InlineData("""{"layers":[{"type":"Linear","out_features":100000}]}""", null, "\"out_features\" must be a whole number from 1 to 65536")]
    [InlineData(null, "cross-entropy", "the loss cross-entropy is for classification")]
    [InlineData(null, "hinge", "unknown loss 'hinge'")]
    public void Bad_models_and_losses_in_a_job_are_job_errors(string? model, string? loss, string expected)
    {
        var job = new TrainingJob(TrainingJob.Regression, [4], "tanh", 10, 0, null, model, loss);
        Assert.Contains(expected, Assert.Throws<JobException>(() => job.Objective()).Message);
    }
}
