using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DistributedBackprop.Data;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;

namespace DistributedBackprop.Cli;

/// <summary>Fashion-MNIST: train epoch by epoch, and after each, the mean loss, test accuracy, time and throughput.</summary>
public static class FashionJob
{
    public sealed record Epoch(int Number, double Seconds, double SamplesPerSecond, double Loss, double TestAccuracy, string ParamHash);

    public static List<Epoch> Run(TrainingSettings settings, ITrainingEngine engine, Dataset train, Dataset test, TrainingState start, bool json, TextWriter output)
    {
        engine.AwaitWorkers();
        var accuracy = new Accuracy(settings.Objective);
        var epochs = new List<Epoch>();
        long perEpoch = settings.Batches.PerEpoch;
        var state = start;
        while (state.Step < settings.Steps)
        {
            int epoch = (int)(state.Step / perEpoch);
            long until = Math.Min((epoch + 1) * perEpoch, settings.Steps);
            double lossSum = 0;
            long steps = 0;
            var clock = Stopwatch.StartNew();
            using (var bar = new ProgressBar($"epoch {epoch + 1}", until - state.Step))
            {
                long from = state.Step;
                state = engine.Run(state, until, log =>
                {
                    lossSum += log.Loss;
                    steps++;
                    bar.Report(log.Step + 1 - from, string.Create(CultureInfo.InvariantCulture, $"loss {lossSum / steps:F4}"));
                });
            }
            double seconds = clock.Elapsed.TotalSeconds;
            int samples = (int)Math.Min(train.Count, steps * settings.Batches.BatchSize);
            var e = new Epoch(epoch + 1, seconds, samples / seconds, lossSum / steps, accuracy.Of(state.Parameters, test), state.Parameters.Hash());
            epochs.Add(e);
            Print(e, json, output, engine.Workers);
        }
        return epochs;
    }

    private static void Print(Epoch e, bool json, TextWriter output, int workers)
    {
        if (json)
        {
            var line = new Dictionary<string, object>
            {
                ["epoch"] = e.Number, ["seconds"] = Math.Round(e.Seconds, 3), ["samples_per_s"] = Math.Round(e.SamplesPerSecond),
                ["loss"] = Math.Round(e.Loss, 5), ["test_accuracy"] = Math.Round(e.TestAccuracy, 4), ["param_hash"] = e.ParamHash,
            };
            line["workers"] = workers;
            output.WriteLine(JsonSerializer.Serialize(line));
        }
        else
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {e.Number}: loss {e.Loss:F4}, test accuracy {e.TestAccuracy:P2}, {e.Seconds:F2} s, {e.SamplesPerSecond:F0} samples/s"));
    }
}
