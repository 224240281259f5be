using System.CommandLine;
using DistributedBackprop.Data;
using DistributedBackprop.Training;

namespace DistributedBackprop.Cli;

// dbp train csv: your own data.
public static partial class TrainCommand
{
    private static TrainTask Csv()
    {
        var common = new TrainOptions();
        var data = new Option<string>("--data") { Description = "the training CSV: a header row, then numbers (the target may be class names)", Required = true };
        var target = new Option<string>("--target") { Description = "the column to predict; every other column is a feature", Required = true };
        var task = new Option<string?>("--task") { Description = "regression or classification (default: classification when the target's first value is not a number)" };
        task.AcceptOnlyFromAmong(DataCard.Regression, DataCard.Classification);
        var test = new Option<string?>("--test") { Description = "a test CSV with the same columns, evaluated after every epoch" };
        var validation = new Option<double>("--validation") { Description = "or hold out this share of the training rows (drawn by --seed), e.g. 0.1", DefaultValueFactory = _ => 0.0 };
        var hidden = new Option<string>("--hidden") { Description = "hidden layer widths of an MLP (or --layers)", DefaultValueFactory = _ => "64" };
        var activation = new Option<string>("--activation") { Description = Nn.Sequential.ActivationList, DefaultValueFactory = _ => "relu" };
        var batch = new Option<int>("--batch") { Description = "minibatch size", DefaultValueFactory = _ => 32 };
        var lr = new Option<double>("--lr") { Description = "learning rate", DefaultValueFactory = _ => 0.05 };
        var epochs = new Option<int>("--epochs") { Description = "passes over the training rows", DefaultValueFactory = _ => 20 };
        var plot = new Option<string?>("--plot") { Description = "write the loss (train and held-out) and the held-out accuracy to this PNG" };
        var command = new Command("csv", "Your own data: a CSV file with a header row; features standardised with the training split's statistics; per epoch the loss, held-out loss and accuracy")
        {
            data, target, task, test, validation, hidden, activation, batch, lr, epochs, plot,
        };
        common.AddTo(command);
        return new TrainTask(command, r =>
        {
            TrainOptions.Positive("--batch", r.GetValue(batch));
            TrainOptions.Positive("--epochs", r.GetValue(epochs));
            double share = r.GetValue(validation);
            if (!(share >= 0 && share <= Tabular.MaxValidation)) throw new UsageException($"--validation must be from 0 to {Tabular.MaxValidation}, not {share}");
            if (share > 0 && r.GetValue(test) is not null) throw new UsageException("--test and --validation both give the held-out rows: use one");
            if (!Nn.Sequential.Activations.Contains(r.GetValue(activation)!))
                throw new UsageException($"--activation: unknown '{r.GetValue(activation)}' ({Nn.Sequential.ActivationList})");
            var plotPath = Curves.CheckPlot(r.GetValue(plot));
            var metrics = common.Model.MetricsPath(r);
            int seed = r.GetValue(common.Seed);
            var (workers, threads) = common.EngineFlags(r);
            var file = Path.GetFullPath(r.GetValue(data)!);
            if (!File.Exists(file)) throw new DataException($"{r.GetValue(data)}: not found");
            var testFile = r.GetValue(test) is string t ? Path.GetFullPath(t) : null;
            if (testFile is not null && !File.Exists(testFile)) throw new DataException($"{r.GetValue(test)}: not found");
            var source = new CsvSource(file, r.GetValue(target)!, r.GetValue(task), share, testFile, Tabular.Hash(file));
            if (source.Problem() is string problem) throw new UsageException($"--data: {problem}");
            var job = common.Model.Apply(r, new TrainingJob(TrainingJob.CsvTask, TrainOptions.Widths("--hidden", r.GetValue(hidden)!), r.GetValue(activation)!, 0, seed, null) with { Csv = source });
            ProgressBar.Phase($"reading {job.Csv?.Path}");
            var prepared = job.Prepare();
            var batches = new Batches(prepared.Train.Count, r.GetValue(batch), Shuffle: true, seed);
            long steps = (long)r.GetValue(epochs) * batches.PerEpoch;
            var settings = new TrainingSettings(prepared.Objective, common.MakeOptimizer(r, r.GetValue(lr), steps), batches, steps, common.MicroShardOr(r, 64), seed) { Staleness = common.StalenessOf(r) };
            var (policy, start) = common.Checkpointing(r, settings);
            return new TrainRequest(job, settings, prepared.Train, prepared.Held, policy, start, workers, threads, r.GetValue(common.Json), 0, plotPath)
            {
                HeldName = prepared.HeldName is "" ? "test" : prepared.HeldName, Metrics = metrics, Harness = common.HarnessFlags(r),
            };
        });
    }
}
