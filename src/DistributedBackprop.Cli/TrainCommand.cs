using System.CommandLine;
using DistributedBackprop.Actors;
using DistributedBackprop.Data;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;

namespace DistributedBackprop.Cli;

/// <summary><c>dbp train regression|fashion-mnist|csv</c>: each task's flags, read into a <see cref="TrainRequest"/>.</summary>
public static partial class TrainCommand
{
    private const string Description = "Train a network: the notebook's regression, Fashion-MNIST, or your own CSV file";

    /// <summary>Fashion-MNIST's default --micro-shard (examples whose gradient is one unit of work).</summary>
    public const int FashionMicroShard = 128;

    /// <summary>A task's command and the function that reads its flags into a request.</summary>
    private sealed record TrainTask(Command Command, Func<ParseResult, TrainRequest> Request);

    public static Command Create()
    {
        var command = new Command("train", Description);
        foreach (var task in Tasks())
        {
            // Only here, not in Parse: a node serves its metrics with its own flags.
            var metricsPort = new Option<int?>("--metrics-port") { Description = "serve Prometheus metrics at http://HOST:PORT/metrics while training" };
            var metricsHost = new Option<string?>("--metrics-host") { Description = "address the metrics endpoint binds (default 127.0.0.1, 0.0.0.0 for every address)" };
            task.Command.Options.Add(metricsPort);
            task.Command.Options.Add(metricsHost);
            task.Command.SetAction(r =>
            {
                var request = task.Request(r);
                int? port = r.GetValue(metricsPort) is { } p ? p is >= 1 and <= 65535 ? p : throw new UsageException($"--metrics-port: {p} is not a port from 1 to 65535") : null;
                var host = MetricsExport.Host(r.GetValue(metricsHost), "--metrics-host");
                // The exporters' assemblies load only when they are asked for: a plain dbp train starts as fast as before.
                using var metrics = port is not null || MetricsExport.OtlpConfigured() ? MetricsExport.Start(port, host) : null;
                return request.Run(Console.Out);
            });
            command.Subcommands.Add(task.Command);
        }
        return command;
    }

    /// <summary>Reads <c>train TASK [flags]</c> (what <c>dbp node</c> is given after <c>--</c>) into a request, without running it.</summary>
    public static TrainRequest Parse(IReadOnlyList<string> args)
    {
        var tasks = Tasks();
        var train = new Command("train", Description);
        foreach (var task in tasks) train.Subcommands.Add(task.Command);
        var parsed = new RootCommand { train }.Parse(args);
        if (parsed.Errors.Count > 0) throw new UsageException($"{ModelOptions.OneLine(parsed.Errors[0])} (see 'dbp train --help')");
        return tasks.SingleOrDefault(t => t.Command == parsed.CommandResult.Command)?.Request(parsed)
            ?? throw new UsageException("the job after -- must be: train regression|fashion-mnist|csv [flags] (see 'dbp train --help')");
    }

    private static TrainTask[] Tasks() => [Regression(), Fashion(), Csv()];

    private static TrainTask Regression()
    {
        var common = new TrainOptions();
        var samples = new Option<int>("--samples") { Description = "number of (x, y) points", DefaultValueFactory = _ => 200 };
        var hidden = new Option<string>("--hidden") { Description = "hidden layer widths", DefaultValueFactory = _ => "32,32" };
        var activation = new Option<string>("--activation") { Description = Sequential.ActivationList, DefaultValueFactory = _ => "tanh" };
        activation.AcceptOnlyFromAmong([.. Sequential.Activations]);
        var lr = new Option<double>("--lr") { Description = "learning rate", DefaultValueFactory = _ => 0.05 };
        var steps = new Option<long>("--steps") { Description = "full-batch gradient steps", DefaultValueFactory = _ => 6000 };
        var logEvery = new Option<long>("--log-every") { Description = "print the loss every this many steps", DefaultValueFactory = _ => 600 };
        var plot = new Option<string?>("--plot") { Description = "write the data and the fitted curve, and the loss against step, to this PNG" };
        var command = new Command("regression", "The notebook's regression: y = 4 sin(πx) cos(6πx²) on [0, 1), an MLP fitted by full-batch gradient descent on MSE")
        {
            samples, hidden, activation, lr, steps, logEvery, plot,
        };
        common.AddTo(command);
        return new TrainTask(command, r =>
        {
            // Every bound is checked before anything is allocated: the data, the model, the workers.
            TrainOptions.Require(JobLimits.Count("--samples", r.GetValue(samples), JobLimits.MaxSamples));
            TrainOptions.Require(JobLimits.Count("--steps", r.GetValue(steps), JobLimits.MaxSteps));
            TrainOptions.Positive("--log-every", r.GetValue(logEvery));
            var plotPath = Curves.CheckPlot(r.GetValue(plot));
            int seed = r.GetValue(common.Seed), count = r.GetValue(samples);
            var widths = TrainOptions.Widths("--hidden", r.GetValue(hidden)!);
            TrainOptions.Require(JobLimits.Model("--hidden", 1, widths, 1));
            var (workers, threads) = common.EngineFlags(r);
            var optimizer = common.MakeOptimizer(r, r.GetValue(lr), r.GetValue(steps));
            int microShard = common.MicroShardOr(r, count);
            TrainOptions.Fits(1, widths, 1, optimizer, workers, count, microShard, count * 8L);
            var job = common.Model.Apply(r, new TrainingJob(TrainingJob.Regression, widths, r.GetValue(activation)!, count, seed, null));
            var data = job.Data().Train;
            var settings = new TrainingSettings(job.Objective(), optimizer,
                new Batches(data.Count, data.Count, Shuffle: false, seed), r.GetValue(steps), microShard, seed) { Staleness = common.StalenessOf(r) };
            var (policy, start) = common.Checkpointing(r, settings);
            return new TrainRequest(job, settings, data, null, policy, start, workers, threads, r.GetValue(common.Json), r.GetValue(logEvery), plotPath) { Metrics = common.Model.MetricsPath(r), Harness = common.HarnessFlags(r) };
        });
    }

    private static TrainTask Fashion()
    {
        var common = new TrainOptions();
        var data = new Option<string>("--data") { Description = "folder with the four Fashion-MNIST IDX files (plain or .gz)", DefaultValueFactory = _ => FashionMnist.DefaultFolder };
        var hidden = new Option<string>("--hidden") { Description = "hidden layer widths (ReLU)", DefaultValueFactory = _ => "256" };
        var batch = new Option<int>("--batch") { Description = "minibatch size", DefaultValueFactory = _ => 64 };
        var lr = new Option<double>("--lr") { Description = "learning rate", DefaultValueFactory = _ => 0.1 };
        var epochs = new Option<int>("--epochs") { Description = "passes over the training set", DefaultValueFactory = _ => 5 };
        var plot = new Option<string?>("--plot") { Description = "write the loss (train and test) and the test accuracy against step and epoch to this PNG" };
        var command = new Command("fashion-mnist", "Fashion-MNIST: a 784-H-10 ReLU MLP, cross-entropy, shuffled minibatches; per epoch the loss, test loss and accuracy, seconds and samples/s")
        {
            data, hidden, batch, lr, epochs, plot,
        };
        common.AddTo(command);
        return new TrainTask(command, r =>
        {
            TrainOptions.Require(JobLimits.Count("--batch", r.GetValue(batch), JobLimits.MaxBatch));
            TrainOptions.Require(JobLimits.Count("--epochs", r.GetValue(epochs), JobLimits.MaxEpochs));
            int seed = r.GetValue(common.Seed);
            var widths = TrainOptions.Widths("--hidden", r.GetValue(hidden)!);
            TrainOptions.Require(JobLimits.Model("--hidden", Pixels, widths, FashionMnist.Classes));
            var (workers, threads) = common.EngineFlags(r);
            // 128 examples a micro-shard: a 784x256 product's packing of the weights paid over 128 rows, not 64.
            // Batch 256 with two worker actors (alternating, epochs 2-4): 130-140k samples/s at 64, 154-155k at
            // 128; the default batch of 64 is one micro-shard either way, so its results did not change.
            int microShard = common.MicroShardOr(r, FashionMicroShard);
            // The optimizer's schedule needs the data's size; its kind and flags are checked (and sized) here.
            var probe = common.MakeOptimizer(r, r.GetValue(lr), 1);
            TrainOptions.Fits(Pixels, widths, FashionMnist.Classes, probe, workers, r.GetValue(batch), microShard, FashionBytes);
            var job = common.Model.Apply(r, new TrainingJob(TrainingJob.Fashion, widths, "relu", 0, seed, Path.GetFullPath(r.GetValue(data)!)));
            ProgressBar.Phase($"loading Fashion-MNIST from {job.DataFolder}");
            var (train, test) = job.Data();
            if (r.GetValue(batch) > train.Count) throw new UsageException($"--batch {r.GetValue(batch)} is more than the {train.Count} training examples");
            var batches = new Batches(train.Count, r.GetValue(batch), Shuffle: true, seed);
            long steps = (long)r.GetValue(epochs) * batches.PerEpoch;
            TrainOptions.Require(JobLimits.Count("--epochs × batches per epoch", steps, JobLimits.MaxSteps));
            var optimizer = common.MakeOptimizer(r, r.GetValue(lr), steps);
            var settings = new TrainingSettings(job.Objective(), optimizer, batches, steps, microShard, seed) { Staleness = common.StalenessOf(r) };
            var (policy, start) = common.Checkpointing(r, settings);
            return new TrainRequest(job, settings, train, test, policy, start, workers, threads, r.GetValue(common.Json), 0, Curves.CheckPlot(r.GetValue(plot))) { Metrics = common.Model.MetricsPath(r), Harness = common.HarnessFlags(r) };
        });
    }

    private const int Pixels = 784;
    /// <summary>Fashion-MNIST's 70,000 images as bytes, and their labels as ints.</summary>
    private const long FashionBytes = 70_000L * (Pixels + 4);
}
