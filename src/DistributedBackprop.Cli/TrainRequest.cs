using DistributedBackprop.Actors;
using DistributedBackprop.Data;
using DistributedBackprop.Training;

namespace DistributedBackprop.Cli;

/// <summary>
/// A <c>dbp train</c> command line, read and checked: the job and its settings, its data, where it starts,
/// the engine flags (null for the defaults) and how it reports. <c>dbp train</c> runs it in this process;
/// <c>dbp node</c> runs the same request over a cluster.
/// </summary>
public sealed record TrainRequest(
    TrainingJob Job, TrainingSettings Settings, Dataset Train, Dataset? Test, CheckpointPolicy? Checkpoint, TrainingState Start,
    int? Workers, int? Threads, bool Json, long LogEvery, string? Plot)
{
    /// <summary>What the held-out split <see cref="Test"/> is called in the output: "test" or "validation".</summary>
    public string HeldName { get; init; } = "test";

    /// <summary>Where --metrics writes a row per step (.csv or .jsonl), or null.</summary>
    public string? Metrics { get; init; }

    /// <summary>Trains with the engine chosen, printing what the task prints; <paramref name="choice"/> defaults to this process.</summary>
    public int Run(TextWriter output, EngineChoice? choice = null)
    {
        choice ??= Engines.InProcess(Settings, Workers);
        Engines.UseThreads(choice, Threads);
        using var engine = Engines.Create(choice, Settings, Train, Checkpoint);
        var curves = new Curves(HeldName);
        switch (Job.Task)
        {
            case TrainingJob.Regression:
                var result = RegressionJob.Run(Settings, engine, Start, LogEvery, Json, output);
                curves.Steps.AddRange(result.History.Select(h => new Curves.Step(h.Step, h.Epoch, h.Loss)));
                if (Plot is string path)
                {
                    curves.Plot(path, RegressionJob.FitPlot(Settings, Train, result.Final.Parameters));
                    if (!Json) output.WriteLine($"wrote {path}");
                }
                break;
            case TrainingJob.Fashion or TrainingJob.CsvTask:
                EpochJob.Run(Settings, engine, Train, Test, HeldName, Start, Json, output, curves, trainAccuracy: Plot is not null || Metrics is not null);
                if (Plot is string picture)
                {
                    curves.Plot(picture);
                    if (!Json) output.WriteLine($"wrote {picture}");
                }
                break;
            default:
                throw new System.Diagnostics.UnreachableException();
        }
        if (Metrics is string metrics)
        {
            curves.WriteMetrics(metrics);
            if (!Json) output.WriteLine($"wrote {metrics}");
        }
        return 0;
    }
}
