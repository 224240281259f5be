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
    /// <summary>Trains with the engine chosen, printing what the task prints; <paramref name="choice"/> defaults to this process.</summary>
    public int Run(TextWriter output, EngineChoice? choice = null)
    {
        choice ??= Engines.InProcess(Settings, Workers);
        Engines.UseThreads(choice, Threads);
        using var engine = Engines.Create(choice, Settings, Train, Checkpoint);
        switch (Job.Task)
        {
            case TrainingJob.Regression:
                var result = RegressionJob.Run(Settings, engine, Start, LogEvery, Json, output);
                if (Plot is string path)
                {
                    RegressionJob.PlotFit(path, Settings, Train, result.Final.Parameters);
                    if (!Json) output.WriteLine($"wrote {path}");
                }
                break;
            case TrainingJob.Fashion:
                FashionJob.Run(Settings, engine, Train, Test!, Start, Json, output);
                break;
            default:
                throw new System.Diagnostics.UnreachableException();
        }
        return 0;
    }
}
