using System.Collections.Immutable;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors;

/// <summary>
/// The parameter server's state: the parameters at <see cref="Version"/>, the optimizer's state, and the
/// micro-shards received so far for <see cref="Step"/> (the next step to apply).
/// </summary>
public sealed record ServerState(
    Parameters<float> Parameters,
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
    public static ServerState Start(Parameters<float> parameters, OptimizerState<float> optimizer, long version, long step) =>
        new(parameters, optimizer, version, step, 0, 0, ImmutableSortedDictionary<int, GradientShard>.Empty, 0, 0, false);

    public bool Begun => ExpectedShards > 0;
}

/// <summary>
/// The parameter server's rule as a pure function: given the state and a message, the new state and what to
/// send. Each micro-shard of a step is applied at most once — duplicates and gradients for another version
/// or step are counted and ignored — and the step is applied only when all its shards are in, summed in
/// shard order. A non-finite gradient is never applied: the server stops and says which step.
/// </summary>
public static class ParameterServerRules
{
    /// <summary>What the actor sends after a message: to the coordinator, in order.</summary>
    public static (ServerState State, IReadOnlyList<IDbpMessage> Replies) Handle(ServerState s, IDbpMessage message, Optimizer optimizer) =>
        s.Stopped ? (s, []) : message switch
        {
            BeginStep b when b.Step == s.Step && !s.Begun && b.Shards > 0 => TryApply(Begin(s, b), optimizer),
            BeginStep => (s with { Stale = s.Stale + 1 }, []),
            GradientShard g when g.Step != s.Step || g.Version != s.Version || g.Shard < 0 || (s.Begun && g.Shard >= s.ExpectedShards) =>
                (s with { Stale = s.Stale + 1 }, []),
            GradientShard g when s.Received.ContainsKey(g.Shard) => (s with { Duplicates = s.Duplicates + 1 }, []),
            GradientShard g => TryApply(s with { Received = s.Received.Add(g.Shard, g) }, optimizer),
            _ => (s, []),
        };

    /// <summary>Shards may arrive before their step's BeginStep; those with ids beyond the step's count are stale.</summary>
    private static ServerState Begin(ServerState s, BeginStep b)
    {
        var inRange = s.Received.RemoveRange(s.Received.Keys.Where(k => k >= b.Shards));
        return s with { ExpectedShards = b.Shards, ExpectedExamples = b.Examples, Received = inRange, Stale = s.Stale + s.Received.Count - inRange.Count };
    }

    private static (ServerState, IReadOnlyList<IDbpMessage>) TryApply(ServerState s, Optimizer optimizer)
    {
        if (!s.Begun || s.Received.Count < s.ExpectedShards) return (s, []);
        var accumulator = new GradientAccumulator(s.Parameters.Select(p => (p.Name, p.Value.Shape.ToArray())));
        var names = s.Parameters.Names.ToArray();
        foreach (var shard in s.Received.Values) // sorted by shard id: the sum's order is fixed
        {
            var byName = shard.Gradients.ToDictionary(t => t.Name, t => t.Value);
            foreach (var name in names)
                if (!byName.ContainsKey(name)) return Refuse(s, $"step {s.Step}: shard {shard.Shard} has no gradient for {name}");
            accumulator.Add(i => byName[names[i]].Data, shard.LossSum, shard.Count);
        }
        if (accumulator.Count != s.ExpectedExamples)
            return Refuse(s, $"step {s.Step}: shards cover {accumulator.Count} examples, the step has {s.ExpectedExamples}");
        if ((double.IsFinite(accumulator.LossSum) ? optimizer.Step(s.Parameters, accumulator.Sum, accumulator.Count, s.Optimizer) : null)
            is not (var parameters, var optimizerState))
            return Refuse(s, $"step {s.Step}: the gradient or loss is not finite (NaN or infinity); nothing was applied");

        var next = s with
        {
            Parameters = parameters, Optimizer = optimizerState, Version = s.Version + 1, Step = s.Step + 1,
            ExpectedShards = 0, ExpectedExamples = 0, Received = ImmutableSortedDictionary<int, GradientShard>.Empty,
        };
        // The update first: the coordinator passes it on to the workers before it starts the next step.
        return (next, [Update(next), new StepApplied(s.Step, next.Version, accumulator.MeanLoss)]);
    }

    public static ParameterUpdate Update(ServerState s) => new(s.Version, NamedTensor.From(s.Parameters));

    private static (ServerState, IReadOnlyList<IDbpMessage>) Refuse(ServerState s, string reason) =>
        (s with { Stopped = true }, [new StepRefused(s.Step, reason)]);
}
