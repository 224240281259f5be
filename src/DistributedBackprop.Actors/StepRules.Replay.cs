using DistributedBackprop.Training;

namespace DistributedBackprop.Actors;

/// <summary>The coordinator's part of exact replay (<see cref="Replay"/>): snapshots kept and dropped, and going back after an exclusion.</summary>
public static partial class StepRules
{
    /// <summary>A worker with unchecked gradients in the parameters was excluded: the server goes back to before the first of them.</summary>
    private static StepState<W> GoBack<W>(StepState<W> s, long target, W worker, List<StepSend<W>> sends) where W : notnull
    {
        if (Replay.RollBackTo(s.Snapshots, target) is not long to)
            return Finish(s, new RunOutcome(null, new InvalidOperationException($"step {s.Step}: worker {worker} was excluded and no snapshot before step {target} is kept to go back to")), sends);
        sends.Add(new StepSend<W>.ToServer(new RollBack(to)));
        return s with
        {
            RollingBack = to, Replayed = new StepReplay(to, s.Step, worker.ToString() ?? "?"),
            Batch = [], Nodes = [], Assigned = s.Assigned.Clear(), Finished = s.Finished.Clear(), Given = s.Given.Clear(), Suspects = s.Suspects.Clear(), Opinions = s.Opinions.Clear(),
        };
    }

    /// <summary>The server is back before the step asked for (its update came first): every piece of per-step state starts again from there.</summary>
    private static StepState<W> RolledBack<W>(StepState<W> s, RolledBack r, List<StepSend<W>> sends) where W : notnull
    {
        if (s.RollingBack != r.Step) return s;
        s = s with
        {
            RollingBack = null, Step = r.Step, Batch = [], Nodes = [],
            Unverified = s.Unverified.RemoveRange(s.Unverified.Where(kv => kv.Value >= r.Step).Select(kv => kv.Key)), // undone
            Snapshots = s.Snapshots.Except(s.Snapshots.Where(n => n > r.Step)), // the server dropped them: they hold what was undone
        };
        return StartOrFinish(s, sends);
    }

    /// <summary>With an audit: the state before this step kept when it is due, and every snapshot no exclusion can choose any more dropped.</summary>
    private static StepState<W> Snapshot<W>(StepState<W> s, List<StepSend<W>> sends) where W : notnull
    {
        if (s.Plan.Audit <= 0) return s;
        if (Replay.SnapshotDue(s.Step, s.Origin, s.Plan.SnapshotEvery) && !s.Snapshots.Contains(s.Step))
        {
            sends.Add(new StepSend<W>.ToServer(new TakeSnapshot(s.Step)));
            s = s with { Snapshots = s.Snapshots.Add(s.Step) };
        }
        var discard = Replay.Discardable(s.Snapshots, s.Unverified.Values, s.Step);
        foreach (var n in discard) sends.Add(new StepSend<W>.ToServer(new DropSnapshot(n)));
        return s with { Snapshots = s.Snapshots.Except(discard) };
    }
}
