using DistributedBackprop.Training;

namespace DistributedBackprop.Actors;

/// <summary>
/// What the server's and the coordinator's states say, as metrics: the rules keep running totals, so after
/// each rule the actor hands over the state before and after, and the growth is recorded.
/// </summary>
public static class ServerMetrics
{
    public static void Record(ServerState before, ServerState after)
    {
        TrainingMetrics.Grew(TrainingMetrics.StaleGradients, before.Stale, after.Stale);
        TrainingMetrics.Grew(TrainingMetrics.DuplicateGradients, before.Duplicates, after.Duplicates);
        if (after.Version != before.Version) TrainingMetrics.ServerVersion.Record(after.Version);
    }

    public static void Record<W>(StepState<W> before, StepState<W> after) where W : notnull
    {
        TrainingMetrics.Grew(TrainingMetrics.RefusedGradients, before.Refused, after.Refused);
        if (after.Workers.Count != before.Workers.Count || after.Step == 0) TrainingMetrics.LiveWorkers.Record(after.Workers.Count);
    }
}
