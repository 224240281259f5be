using System.Collections.Immutable;
using DistributedBackprop.Core;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors;

/// <summary>
/// The server's own buffers: the parameter versions it hands out, in a ring — a version stays as it is while a
/// worker may still compute with it, and only the ring's oldest is written, with the next — the optimizer's
/// slots (updated in place), and the tree its steps are summed in. Nothing here is read as current by anyone
/// before it is complete: versions go out read-only. Copied in from the run's start state, which stays as it was.
/// </summary>
public sealed class ServerBuffers
{
    private readonly Parameters<float>[] _ring;

    /// <summary><paramref name="staleness"/>: how many versions before the current one workers may still compute with; the ring keeps those, the current one and the next.</summary>
    public ServerBuffers(Parameters<float> start, GradientPool pool, int staleness = 0)
    {
        _ring = [.. Enumerable.Range(0, staleness + 2).Select(_ => start.Copy())];
        Tree = new TreeSum(pool);
    }

    public TreeSum Tree { get; }

    public GradientPool Pool => Tree.Pool;

    public Parameters<float> Slot(long version) => _ring[(int)(version % _ring.Length)];

    /// <summary>The last snapshot dropped: no one reads it any more, and the next one taken is copied into its arrays (<see cref="ServerSnapshots"/>).</summary>
    public ServerSnapshot? SpareSnapshot { get; set; }
}

/// <summary>
/// The parameter server's state: the parameters at <see cref="Version"/> (its buffers' current slot), the
/// optimizer's state, and the nodes of the shard tree received so far for <see cref="Step"/> (the next step
/// to apply), by first micro-shard.
/// </summary>
public sealed record ServerState(
    ServerBuffers Buffers,
    OptimizerState<float> Optimizer,
    long Version,
    long Step,
    int ExpectedShards,
    int ExpectedExamples,
    ImmutableSortedDictionary<int, GradientShard> Received,
    long Duplicates,
    long Stale,
    bool Stopped)
{
    /// <summary>A server from a run's start state, which it copies: its buffers are its own.</summary>
    public static ServerState Start(Parameters<float> parameters, OptimizerState<float> optimizer, long version, long step, GradientPool? pool = null, int staleness = 0)
    {
        var own = new OptimizerState<float>(optimizer.Step, optimizer.Slots.Copy());
        pool ??= new GradientPool(parameters.Select(p => p.Value.Length).ToArray());
        return new(new ServerBuffers(parameters, pool, staleness), own, version, step, 0, 0, ImmutableSortedDictionary<int, GradientShard>.Empty, 0, 0, false)
            { Staleness = staleness, Origin = step };
    }

    /// <summary>How many steps a gradient lags behind the parameters it is applied to (<see cref="StepPlan.Staleness"/>).</summary>
    public int Staleness { get; init; }

    /// <summary>The step this server started at: the run's first steps are computed with its first parameters.</summary>
    public long Origin { get; init; }

    /// <summary>The version this step's gradients are computed with: the current one, or with staleness S the one from before step - S.</summary>
    public long GradientVersion => Version - Math.Min(Staleness, Step - Origin);

    public Parameters<float> Parameters => Buffers.Slot(Version);

    public bool Begun => ExpectedShards > 0;

    /// <summary>Micro-shards the received nodes cover.</summary>
    public int Covered => Received.Values.Sum(g => g.Shards);
}

/// <summary>
/// The parameter server's rule: given the state and a message, the new state and what to send. Each node of
/// a step's shard tree is applied at most once — duplicates, nodes that overlap one already in, and gradients
/// for another version or step are counted and ignored — and the step is applied only when its nodes cover
/// every micro-shard, added along the tree (<see cref="TreeSum"/>), whoever sent which. A non-finite gradient
/// is never applied: the server stops and says which step. Deterministic: the same messages give the same
/// bits. Its arithmetic writes only the server's own buffers (the next version, the optimizer's slots) and
/// the received gradients, which it then gives back to the pool.
/// </summary>
public static class ParameterServerRules
{
    /// <summary>What the actor sends after a message: to the coordinator, in order.</summary>
    public static (ServerState State, IReadOnlyList<IDbpMessage> Replies) Handle(ServerState s, IDbpMessage message, Optimizer optimizer) =>
        s.Stopped ? (s, []) : message switch
        {
            BeginStep b when b.Step == s.Step && !s.Begun && b.Shards > 0 => TryApply(Begin(s, b), optimizer),
            BeginStep => (s with { Stale = s.Stale + 1 }, []),
            GradientShard g when g.Step != s.Step || g.Version != s.GradientVersion || !Fits(s, g) => (s with { Stale = s.Stale + 1 }, []),
            GradientShard g when s.Received.TryGetValue(g.Shard, out var had) && had.Shards == g.Shards => (s with { Duplicates = s.Duplicates + 1 }, []),
            GradientShard g when s.Received.Values.Any(r => r.Shard < g.Shard + g.Shards && g.Shard < r.Shard + r.Shards) => (s with { Stale = s.Stale + 1 }, []),
            GradientShard g => TryApply(s with { Received = s.Received.Add(g.Shard, g) }, optimizer),
            _ => (s, []),
        };

    /// <summary>A node of this step's tree (once the step's size is known), with a gradient for every parameter, in order, of its size.</summary>
    private static bool Fits(ServerState s, GradientShard g)
    {
        if (g.Shard < 0 || g.Shards <= 0 || (s.Begun && !ShardTree.IsNode(g.Shard, g.Shards, s.ExpectedShards))) return false;
        var parameters = s.Parameters;
        if (g.Gradients is null || g.Gradients.Length != parameters.Count) return false;
        for (int i = 0; i < parameters.Count; i++)
            if (g.Gradients[i] is not { } t || t.Name != parameters[i].Name || t.Value is null || !Shapes.Equal(t.Value.Dims, parameters[i].Value.Dims)) return false;
        return true;
    }

    /// <summary>Nodes may arrive before their step's BeginStep; those that are not nodes of its tree are stale.</summary>
    private static ServerState Begin(ServerState s, BeginStep b)
    {
        var misfits = s.Received.Values.Where(g => !ShardTree.IsNode(g.Shard, g.Shards, b.Shards)).Select(g => g.Shard).ToList();
        return s with { ExpectedShards = b.Shards, ExpectedExamples = b.Examples, Received = s.Received.RemoveRange(misfits), Stale = s.Stale + misfits.Count };
    }

    private static (ServerState, IReadOnlyList<IDbpMessage>) TryApply(ServerState s, Optimizer optimizer)
    {
        if (!s.Begun || s.Covered < s.ExpectedShards) return (s, []);
        var tree = s.Buffers.Tree;
        foreach (var node in s.Received.Values) // sorted by first shard: the tree's order
            tree.AddOwned(node.Node, node.Buffers(), node.LossSum, node.Count);
        var (left, right, _, lossSum, count) = tree.FinishPair(); // the root's addition is the optimizer's
        var next = s.Buffers.Slot(s.Version + 1);
        var optimizerState = count == s.ExpectedExamples && double.IsFinite(lossSum)
            ? optimizer.StepInto(s.Parameters, next, i => left[i], count, s.Optimizer, right is null ? null : i => right[i]) : null;
        s.Buffers.Pool.Return(left);
        if (right is not null) s.Buffers.Pool.Return(right);
        if (count != s.ExpectedExamples)
            return Refuse(s, $"step {s.Step}: shards cover {count} examples, the step has {s.ExpectedExamples}");
        if (optimizerState is null)
            return Refuse(s, $"step {s.Step}: the gradient or loss is not finite (NaN or infinity); nothing was applied");

        var applied = s with
        {
            Optimizer = optimizerState, Version = s.Version + 1, Step = s.Step + 1,
            ExpectedShards = 0, ExpectedExamples = 0, Received = ImmutableSortedDictionary<int, GradientShard>.Empty,
        };
        // The update first: the coordinator passes it on to the workers before it starts the next step.
        return (applied, [Update(applied), new StepApplied(s.Step, applied.Version, lossSum / count)]);
    }

    public static ParameterUpdate Update(ServerState s) => new(s.Version, NamedTensor.From(s.Parameters));

    private static (ServerState, IReadOnlyList<IDbpMessage>) Refuse(ServerState s, string reason) =>
        (s with { Stopped = true }, [new StepRefused(s.Step, reason)]);
}
