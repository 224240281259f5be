using System.CommandLine;
using DistributedBackprop.Data;
using DistributedBackprop.Training;

namespace DistributedBackprop.Cli;

/// <summary><c>dbp train regression|fashion-mnist</c>.</summary>
public static class TrainCommand
{
    /// <summary>The train command; <paramref name="factory"/> replaces the in-process engine (for <c>dbp node</c>).</summary>
    public static Command Create(EngineFactory? factory = null) => new("train", "Train a network: the notebook's regression, or Fashion-MNIST")
    {
        Regression(factory),
        Fashion(factory),
    };

    private static Command Regression(EngineFactory? factory)
    {
        var common = new TrainOptions(factory);
        var samples = new Option<int>("--samples") { Description = "number of (x, y) points", DefaultValueFactory = _ => 200 };
        var hidden = new Option<string>("--hidden") { Description = "hidden layer widths", DefaultValueFactory = _ => "32,32" };
        var activation = new Option<string>("--activation") { Description = "tanh, sigmoid or relu", DefaultValueFactory = _ => "tanh" };
        var lr = new Option<double>("--lr") { Description = "learning rate", DefaultValueFactory = _ => 0.05 };
        var steps = new Option<long>("--steps") { Description = "full-batch gradient steps", DefaultValueFactory = _ => 6000 };
        var logEvery = new Option<long>("--log-every") { Description = "print the loss every this many steps", DefaultValueFactory = _ => 600 };
        var plot = new Option<string?>("--plot") { Description = "write the data and the fitted curve to this PNG" };
        var command = new Command("regression", "The notebook's regression: y = 4 sin(πx) cos(6πx²) on [0, 1), an MLP fitted by full-batch gradient descent on MSE")
        {
            samples, hidden, activation, lr, steps, logEvery, plot,
        };
        common.AddTo(command);
        command.SetAction(r =>
        {
            TrainOptions.Positive("--samples", r.GetValue(samples));
            TrainOptions.Positive("--steps", r.GetValue(steps));
            TrainOptions.Positive("--log-every", r.GetValue(logEvery));
            if (r.GetValue(activation) is not ("tanh" or "sigmoid" or "relu"))
                throw new UsageException($"--activation: unknown '{r.GetValue(activation)}' (tanh, sigmoid or relu)");
            int seed = r.GetValue(common.Seed);
            var spec = new JobSpec(JobSpec.Regression, TrainOptions.Widths("--hidden", r.GetValue(hidden)!), r.GetValue(activation)!, r.GetValue(samples), seed, null);
            var data = spec.Data().Train;
            var settings = new TrainingSettings(spec.Objective(), common.MakeOptimizer(r, r.GetValue(lr), r.GetValue(steps)),
                new Batches(data.Count, data.Count, Shuffle: false, seed), r.GetValue(steps), common.MicroShardOr(r, data.Count), seed);
            var (policy, start) = common.Checkpointing(r, settings);
            var engine = common.Engine(r, settings, spec, data, policy);
            RegressionJob.Result result;
            try { result = RegressionJob.Run(settings, engine, start, r.GetValue(logEvery), r.GetValue(common.Json), Console.Out, Workers(engine, r, common, settings)); }
            finally { (engine as IDisposable)?.Dispose(); }
            if (r.GetValue(plot) is string path)
            {
                RegressionJob.PlotFit(path, settings, data, result.Final.Parameters);
                if (!r.GetValue(common.Json)) Console.WriteLine($"wrote {path}");
            }
            return 0;
        });
        return command;
    }

    private static Command Fashion(EngineFactory? factory)
    {
        var common = new TrainOptions(factory);
        var data = new Option<string>("--data") { Description = "folder with the four Fashion-MNIST IDX files (plain or .gz)", DefaultValueFactory = _ => FashionMnist.DefaultFolder };
        var hidden = new Option<string>("--hidden") { Description = "hidden layer widths (ReLU)", DefaultValueFactory = _ => "256" };
        var batch = new Option<int>("--batch") { Description = "minibatch size", DefaultValueFactory = _ => 64 };
        var lr = new Option<double>("--lr") { Description = "learning rate", DefaultValueFactory = _ => 0.1 };
        var epochs = new Option<int>("--epochs") { Description = "passes over the training set", DefaultValueFactory = _ => 5 };
        var command = new Command("fashion-mnist", "Fashion-MNIST: a 784-H-10 ReLU MLP, cross-entropy, shuffled minibatches; per epoch the loss, test accuracy, seconds and samples/s")
        {
            data, hidden, batch, lr, epochs,
        };
        common.AddTo(command);
        command.SetAction(r =>
        {
            TrainOptions.Positive("--batch", r.GetValue(batch));
            TrainOptions.Positive("--epochs", r.GetValue(epochs));
            int seed = r.GetValue(common.Seed);
            var spec = new JobSpec(JobSpec.Fashion, TrainOptions.Widths("--hidden", r.GetValue(hidden)!), "relu", 0, seed, Path.GetFullPath(r.GetValue(data)!));
            var (train, test) = spec.Data();
            var batches = new Batches(train.Count, r.GetValue(batch), Shuffle: true, seed);
            var optimizer = common.MakeOptimizer(r, r.GetValue(lr), (long)r.GetValue(epochs) * batches.PerEpoch);
            var settings = new TrainingSettings(spec.Objective(), optimizer, batches, (long)r.GetValue(epochs) * batches.PerEpoch, common.MicroShardOr(r, 64), seed);
            var (policy, start) = common.Checkpointing(r, settings);
            var engine = common.Engine(r, settings, spec, train, policy);
            try { FashionJob.Run(settings, engine, train, test!, start, r.GetValue(common.Json), Console.Out, Workers(engine, r, common, settings)); }
            finally { (engine as IDisposable)?.Dispose(); }
            return 0;
        });
        return command;
    }

    /// <summary>The "workers" a JSON line reports, read when it is printed: a cluster counts the worker nodes that took part.</summary>
    private static Func<int> Workers(ITrainingEngine engine, ParseResult r, TrainOptions common, TrainingSettings settings) =>
        engine is IHasWorkers w ? () => w.Workers : () => common.WorkerCount(r, settings);
}
