using System.Collections.Immutable;
using DistributedBackprop.Core;
using DistributedBackprop.Nn;

namespace DistributedBackprop.Actors;

/// <summary>The server's state before a step, copied: its buffers are written in place afterwards, this is not.</summary>
public sealed record ServerSnapshot(long Step, float[][] Parameters, long OptimizerStep, Parameters<float> Slots);

/// <summary>
/// The parameter server's snapshots for exact replay (<see cref="Replay"/>) as a pure rule: given the
/// snapshots, the server's state and a message, the new snapshots, the new state and the replies. A snapshot
/// is taken only of a state between steps, at the step the coordinator names; a rollback restores one into
/// the next slot of the server's ring, under a new version, and forgets the step in flight and every later
/// snapshot. A rollback to a snapshot the server does not hold stops the server, saying so: going on would
/// leave what the rollback was for in the parameters.
/// </summary>
public static class ServerSnapshots
{
    public static bool Handles(IDbpMessage message) => message is TakeSnapshot or DropSnapshot or RollBack;

    public static (ImmutableSortedDictionary<long, ServerSnapshot> Snapshots, ServerState State, IReadOnlyList<IDbpMessage> Replies) Handle(
        ImmutableSortedDictionary<long, ServerSnapshot> snapshots, ServerState s, IDbpMessage message)
    {
        if (s.Stopped) return (snapshots, s, []);
        switch (message)
        {
            case TakeSnapshot t when t.Step == s.Step && !s.Begun && s.Received.IsEmpty:
                return (snapshots.SetItem(t.Step, Take(s)), s, []);
            case TakeSnapshot:
                return (snapshots, s with { Stale = s.Stale + 1 }, []);
            case DropSnapshot d when snapshots.TryGetValue(d.Step, out var dropped):
                s.Buffers.SpareSnapshot = dropped;
                return (snapshots.Remove(d.Step), s, []);
            case DropSnapshot:
                return (snapshots, s, []);
            case RollBack r when snapshots.TryGetValue(r.Step, out var snapshot):
                var restored = Restore(s, snapshot);
                var undone = snapshots.Keys.Where(k => k > r.Step).ToList();
                if (undone.Count > 0) s.Buffers.SpareSnapshot = snapshots[undone[^1]];
                return (snapshots.RemoveRange(undone), restored,
                    [ParameterServerRules.Update(restored), new RolledBack(r.Step, restored.Version)]);
            case RollBack r:
                return (snapshots, s with { Stopped = true },
                    [new StepRefused(s.Step, $"cannot go back to the state before step {r.Step}: the server holds no snapshot of it")]);
            default:
                return (snapshots, s, []);
        }
    }

    /// <summary>
    /// The state copied, into the arrays of the last snapshot dropped where there is one: a run that audits
    /// takes a snapshot every few steps and drops as many, and Fashion-MNIST's parameters and momentum are
    /// 814 kB each, which the collector would otherwise have to clear away.
    /// </summary>
    private static ServerSnapshot Take(ServerState s)
    {
        if (s.Buffers.SpareSnapshot is not { } spare || !Fits(spare.Slots, s.Optimizer.Slots))
            return new(s.Step, [.. s.Parameters.Select(p => p.Value.ToArray())], s.Optimizer.Step, s.Optimizer.Slots.Copy());
        s.Buffers.SpareSnapshot = null;
        for (int i = 0; i < spare.Parameters.Length; i++) s.Parameters[i].Value.Data.CopyTo(spare.Parameters[i]);
        for (int i = 0; i < spare.Slots.Count; i++) s.Optimizer.Slots[i].Value.Data.CopyTo(spare.Slots[i].Value.Buffer);
        return spare with { Step = s.Step, OptimizerStep = s.Optimizer.Step };
    }

    private static bool Fits(Parameters<float> spare, Parameters<float> slots) =>
        spare.Count == slots.Count && Enumerable.Range(0, slots.Count).All(i => spare[i].Name == slots[i].Name && spare[i].Value.Length == slots[i].Value.Length);

    /// <summary>The snapshot's parameters in the ring's next slot, a fresh copy of its optimizer state, and nothing of the step in flight.</summary>
    private static ServerState Restore(ServerState s, ServerSnapshot snapshot)
    {
        var next = s.Buffers.Slot(s.Version + 1);
        for (int i = 0; i < next.Count; i++) snapshot.Parameters[i].CopyTo(next[i].Value.Buffer, 0);
        return s with
        {
            Version = s.Version + 1, Step = snapshot.Step, Optimizer = new OptimizerState<float>(snapshot.OptimizerStep, snapshot.Slots.Copy()),
            ExpectedShards = 0, ExpectedExamples = 0, Received = ImmutableSortedDictionary<int, GradientShard>.Empty,
        };
    }
}
