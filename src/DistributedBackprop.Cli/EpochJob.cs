using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DistributedBackprop.Data;
using DistributedBackprop.Training;

namespace DistributedBackprop.Cli;

/// <summary>
/// Fashion-MNIST and CSV training: epoch by epoch, and after each, the mean training loss, the held-out
/// split's loss and (for classes) accuracy, time and throughput; with <c>trainAccuracy</c> (for the curves)
/// the training split's accuracy too, which costs a forward pass over it.
/// </summary>
public static class EpochJob
{
    public sealed record Epoch(int Number, double Seconds, double SamplesPerSecond, double Loss, double? HeldLoss, double? HeldAccuracy, string ParamHash);

    public static List<Epoch> Run(TrainingSettings settings, ITrainingEngine engine, Dataset train, Dataset? held, string heldName,
        TrainingState start, bool json, TextWriter output, Curves curves, bool trainAccuracy = false)
    {
        engine.AwaitWorkers();
        var inference = new Inference(settings.Objective);
        var epochs = new List<Epoch>();
        long perEpoch = settings.Batches.PerEpoch;
        var state = start;
        while (state.Step < settings.Steps)
        {
            int epoch = (int)(state.Step / perEpoch);
            long until = Math.Min((epoch + 1) * perEpoch, settings.Steps);
            var losses = new List<StepLog>(); // this epoch's, as they stand after any replay
            double running = 0; // their sum, for the progress bar: an average over the list at every step would be quadratic
            var clock = Stopwatch.StartNew();
            using (var bar = new ProgressBar($"epoch {epoch + 1}", until - state.Step))
            {
                long from = state.Step;
                state = engine.Run(state, until, log =>
                {
                    if (log.Replay is { } replay)
                    {
                        running -= losses.Where(l => l.Step >= replay.FromStep).Sum(l => l.Loss);
                        losses.RemoveAll(l => l.Step >= replay.FromStep);
                        curves.Steps.RemoveAll(c => c.Number >= replay.FromStep);
                        ReplayReport.Print(replay, json, output);
                    }
                    losses.Add(log);
                    running += log.Loss;
                    curves.Steps.Add(new Curves.Step(log.Step, log.Epoch, log.Loss));
                    bar.Report(log.Step + 1 - from, string.Create(CultureInfo.InvariantCulture, $"loss {running / losses.Count:F4}"));
                });
            }
            double lossSum = losses.Sum(l => l.Loss);
            long steps = losses.Count;
            double seconds = clock.Elapsed.TotalSeconds;
            int samples = (int)Math.Min(train.Count, steps * settings.Batches.BatchSize);
            if (held is not null) ProgressBar.Phase($"evaluating on the {heldName} split ({held.Count} examples)");
            var (heldLoss, heldAccuracy) = held is null ? (null, null) : inference.Evaluate(state.Parameters, held) is var (l, a) ? ((double?)l, a) : default;
            var e = new Epoch(epoch + 1, seconds, samples / seconds, lossSum / steps, heldLoss, heldAccuracy, state.Parameters.Hash());
            double? accuracyOnTrain = trainAccuracy && train.Labels is not null ? inference.Evaluate(state.Parameters, train).Accuracy : null;
            curves.Epochs.Add(new Curves.Held(state.Step - 1, epoch + 1, e.Loss, heldLoss, heldAccuracy, accuracyOnTrain));
            epochs.Add(e);
            Print(e, heldName, json, output, engine.Workers);
        }
        if (epochs.Count == 0) throw new UsageException($"the checkpoint is already at step {start.Step}: nothing to do in {settings.Steps} steps");
        return epochs;
    }

    private static void Print(Epoch e, string held, bool json, TextWriter output, int workers)
    {
        if (json)
        {
            var line = new Dictionary<string, object>
            {
                ["epoch"] = e.Number, ["seconds"] = Math.Round(e.Seconds, 3), ["samples_per_s"] = Math.Round(e.SamplesPerSecond),
                ["loss"] = Math.Round(e.Loss, 5),
            };
            if (e.HeldLoss is double l) line[held + "_loss"] = Math.Round(l, 5);
            if (e.HeldAccuracy is double a) line[held + "_accuracy"] = Math.Round(a, 4);
            line["param_hash"] = e.ParamHash;
            line["workers"] = workers;
            output.WriteLine(JsonSerializer.Serialize(line));
        }
        else
        {
            var heldText = (e.HeldLoss is double l ? string.Create(CultureInfo.InvariantCulture, $", {held} loss {l:F4}") : "")
                + (e.HeldAccuracy is double a ? string.Create(CultureInfo.InvariantCulture, $", {held} accuracy {a:P2}") : "");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {e.Number}: loss {e.Loss:F4}{heldText}, {e.Seconds:F2} s, {e.SamplesPerSecond:F0} samples/s"));
        }
    }
}
