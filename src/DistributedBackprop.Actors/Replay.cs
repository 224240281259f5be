using MessagePack;

namespace DistributedBackprop.Actors;

/// <summary>
/// Exact replay after a worker is excluded: the rules that say which of the server's in-memory snapshots to
/// keep and which one to go back to. A snapshot at step n is the server's state before step n (parameters,
/// optimizer state, step); training is exact and a step's batch a pure function of the step, so the steps
/// from n on can be computed again, without the excluded worker, to the same bits a clean run has.
/// <para>
/// Where to go back to: before the excluded worker's <em>first unverified</em> gradient — the first step in
/// which a gradient of its reached the server with no other worker having computed the same bits. Every
/// gradient of it before that step was checked bit for bit, so the state there is the clean run's; every
/// gradient of it from there on may be wrong and is undone. A verified-good audit later in the run does not
/// move this point: it shows the worker right at that step, not at the others (a fault may come and go, as a
/// flipping bit does), so going back only to its last good audit could leave a wrong gradient in the
/// parameters. With an audit fraction below 1 this point is usually the worker's first step in the run.
/// </para>
/// </summary>
public static class Replay
{
    /// <summary>Steps between the snapshots a run takes when it audits (its start is always one).</summary>
    public const int DefaultSnapshotEvery = 10;

    /// <summary>Whether the state before <paramref name="step"/> is snapshotted: the run's first, then every <paramref name="every"/> steps (0: only the first).</summary>
    public static bool SnapshotDue(long step, long origin, int every) =>
        step == origin || every > 0 && step > origin && (step - origin) % every == 0;

    /// <summary>The snapshot to go back to for a worker whose first unverified gradient was in <paramref name="target"/>: the latest at or before it, or null.</summary>
    public static long? RollBackTo(IEnumerable<long> snapshots, long target)
    {
        long? best = null;
        foreach (var n in snapshots) if (n <= target && (best is null || n > best)) best = n;
        return best;
    }

    /// <summary>
    /// The snapshots a later exclusion could still need: for each live worker's first unverified step, the one
    /// <see cref="RollBackTo"/> would choose, and the newest at or before <paramref name="current"/> (for
    /// workers that have sent nothing unverified yet, whose first unverified step can only come later).
    /// Every other snapshot can be discarded: no exclusion can ever choose it. So a run keeps at most one
    /// snapshot a worker and one more.
    /// </summary>
    public static IReadOnlySet<long> Needed(IReadOnlyCollection<long> snapshots, IEnumerable<long> firstUnverified, long current)
    {
        var needed = new HashSet<long>();
        foreach (var target in firstUnverified.Append(current))
            if (RollBackTo(snapshots, target) is long n) needed.Add(n);
        return needed;
    }

    /// <summary>The snapshots no exclusion can choose any more, oldest first.</summary>
    public static IReadOnlyList<long> Discardable(IReadOnlyCollection<long> snapshots, IEnumerable<long> firstUnverified, long current)
    {
        var needed = Needed(snapshots, firstUnverified, current);
        return [.. snapshots.Where(n => !needed.Contains(n)).Order()];
    }
}

/// <summary>Coordinator → server: keep a copy of the state before <paramref name="Step"/> (the server must be there, the step not begun).</summary>
[MessagePackObject]
public sealed record TakeSnapshot([property: Key(0)] long Step) : IDbpMessage;

/// <summary>Coordinator → server: the snapshot before <paramref name="Step"/> is no longer needed.</summary>
[MessagePackObject]
public sealed record DropSnapshot([property: Key(0)] long Step) : IDbpMessage;

/// <summary>
/// Coordinator → server: go back to the snapshot before <paramref name="Step"/>, dropping the step in flight and
/// every later snapshot; the parameters get a new version, so every gradient computed before is stale.
/// </summary>
[MessagePackObject]
public sealed record RollBack([property: Key(0)] long Step) : IDbpMessage;

/// <summary>Server → coordinator: the state is the one before <paramref name="Step"/> again, at <paramref name="Version"/> (sent after its update).</summary>
[MessagePackObject]
public sealed record RolledBack([property: Key(0)] long Step, [property: Key(1)] long Version) : IDbpMessage;
