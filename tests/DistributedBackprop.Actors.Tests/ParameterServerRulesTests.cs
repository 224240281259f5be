using DistributedBackprop.Actors;
using DistributedBackprop.Core;
using DistributedBackprop.Nn;

namespace DistributedBackprop.Actors.Tests;

/// <summary>The server's rule as a pure function, without Akka.</summary>
public class ParameterServerRulesTests
{
    internal static readonly Optimizer Sgd = new Sgd(0.5);

    internal static ServerState Start()
    {
        var p = new Parameters<float>([("w", Tensor<float>.Vector(1f, 2f)), ("b", Tensor<float>.Scalar(0f))]);
        return ServerState.Start(p, Sgd.Init(p), version: 0, step: 1);
    }

    internal static GradientShard Shard(int shard, float w0, float w1, float b, int count = 2, long step = 1, long version = 0, double loss = 1, int shards = 1) =>
        new(version, step, shard, shards, count, loss, [new NamedTensor("w", Tensor<float>.Vector(w0, w1)), new NamedTensor("b", Tensor<float>.Scalar(b))]);

    private static (ServerState, IReadOnlyList<IDbpMessage>) Feed(ServerState s, params IDbpMessage[] messages)
    {
        IReadOnlyList<IDbpMessage> last = [];
        var all = new List<IDbpMessage>();
        foreach (var m in messages) { (s, last) = ParameterServerRules.Handle(s, m, Sgd); all.AddRange(last); }
        return (s, all);
    }

    [Fact]
    public void A_step_averages_its_shards_by_example_count_and_applies_sgd()
    {
        var (s, replies) = Feed(Start(), new BeginStep(1, 2, 4), Shard(0, 2, 4, 6, loss: 3), Shard(1, 2, 0, 2, loss: 5));
        // mean gradient = (sum of shard sums) / 4 examples = (1, 1, 2); w - 0.5 g = (0.5, 1.5), b = -1
        Assert.Equal([0.5f, 1.5f], s.Parameters["w"].ToArray());
        Assert.Equal(-1f, s.Parameters["b"].Item());
        Assert.Equal((1L, 2L), (s.Version, s.Step));
        Assert.Equal(1, Assert.IsType<ParameterUpdate>(replies[0]).Version);
        var applied = Assert.IsType<StepApplied>(replies[1]);
        Assert.Equal(2.0, applied.Loss); // (3 + 5) / 4
    }

    [Fact]
    public void Shards_may_arrive_in_any_order_and_before_the_step_begins()
    {
        var (inOrder, _) = Feed(Start(), new BeginStep(1, 3, 6), Shard(0, 0.1f, 0.2f, 0.3f), Shard(1, 1e7f, 1, 1), Shard(2, -1e7f, 3, 3));
        var (shuffled, _) = Feed(Start(), Shard(2, -1e7f, 3, 3), Shard(0, 0.1f, 0.2f, 0.3f), new BeginStep(1, 3, 6), Shard(1, 1e7f, 1, 1));
        Assert.Equal(inOrder.Parameters.Hash(), shuffled.Parameters.Hash());
        Assert.Equal(1, shuffled.Version);
    }

    [Fact]
    public void Nothing_is_applied_until_every_shard_is_in()
    {
        var (s, replies) = Feed(Start(), new BeginStep(1, 3, 6), Shard(0, 1, 1, 1), Shard(2, 1, 1, 1));
        Assert.Empty(replies);
        Assert.Equal(0, s.Version);
        Assert.Equal([1f, 2f], s.Parameters["w"].ToArray());
    }

    [Fact]
    public void Duplicates_are_counted_and_applied_once()
    {
        var (once, _) = Feed(Start(), new BeginStep(1, 2, 4), Shard(0, 2, 4, 6), Shard(1, 2, 0, 2));
        var (twice, replies) = Feed(Start(), new BeginStep(1, 2, 4), Shard(0, 2, 4, 6), Shard(0, 2, 4, 6), Shard(1, 2, 0, 2), Shard(1, 2, 0, 2));
        Assert.Equal(once.Parameters.Hash(), twice.Parameters.Hash());
        Assert.Equal(1, twice.Duplicates); // the repeat of shard 0 arrives while the step is open
        Assert.Equal(1, twice.Stale); // the repeat of shard 1 arrives after the step was applied: stale
        Assert.Single(replies.OfType<StepApplied>());
    }

    [Fact]
    public void Stale_versions_and_steps_are_ignored()
    {
        var (s, replies) = Feed(Start(), new BeginStep(1, 1, 2), Shard(0, 1, 1, 1, version: 5), Shard(0, 1, 1, 1, step: 7));
        Assert.Empty(replies);
        Assert.Equal(2, s.Stale);
        Assert.Equal(0, s.Version);
    }

    [Fact]
    public void A_non_finite_gradient_is_never_applied_and_stops_the_server()
    {
        var (s, replies) = Feed(Start(), new BeginStep(1, 2, 4), Shard(0, float.NaN, 1, 1), Shard(1, 1, 1, 1));
        var refused = Assert.IsType<StepRefused>(Assert.Single(replies));
        Assert.Contains("step 1", refused.Reason);
        Assert.True(s.Stopped);
        Assert.Equal([1f, 2f], s.Parameters["w"].ToArray());
        var (after, more) = Feed(s, new BeginStep(1, 1, 2), Shard(0, 1, 1, 1));
        Assert.Empty(more);
        Assert.Equal(0, after.Version);
    }

    [Fact]
    public void Shards_that_do_not_cover_the_step_are_refused()
    {
        var (_, replies) = Feed(Start(), new BeginStep(1, 2, 5), Shard(0, 1, 1, 1), Shard(1, 1, 1, 1));
        Assert.Contains("cover 4 examples", Assert.IsType<StepRefused>(Assert.Single(replies)).Reason);
    }

    [Fact]
    public void A_node_of_several_shards_stands_for_them_and_the_step_adds_nodes_along_the_tree()
    {
        // Four shards as the nodes [0, 2) and [2, 4) (two workers), or as [0, 1), [1, 2), [2, 4) (three).
        var (two, _) = Feed(Start(), new BeginStep(1, 4, 8), Shard(2, 1e7f, 3, 1, shards: 2, count: 4), Shard(0, 0.1f, -1e7f, 2, shards: 2, count: 4));
        var (three, _) = Feed(Start(), new BeginStep(1, 4, 8), Shard(1, 0.05f, -1e7f, 1), Shard(0, 0.05f, 0f, 1), Shard(2, 1e7f, 3, 1, shards: 2, count: 4));
        Assert.Equal(1, two.Version);
        Assert.Equal(1, three.Version);
        Assert.Equal(two.Parameters.Hash(), three.Parameters.Hash());
    }

    [Fact]
    public void Ranges_that_are_not_nodes_of_the_step_or_overlap_one_already_in_are_stale()
    {
        var (s, replies) = Feed(Start(), new BeginStep(1, 4, 8),
            Shard(1, 1, 1, 1, shards: 2),  // not aligned
            Shard(3, 1, 1, 1, shards: 2),  // past the end
            Shard(0, 1, 1, 1, shards: 2, count: 4),
            Shard(1, 1, 1, 1),             // inside [0, 2), already in
            Shard(0, 1, 1, 1, shards: 4, count: 8)); // covers it
        Assert.Empty(replies);
        Assert.Equal((4L, 0L), (s.Stale, s.Duplicates));
        Assert.Equal(2, s.Covered);
    }

    [Fact]
    public void A_gradient_whose_tensors_do_not_fit_the_parameters_is_stale()
    {
        var wrongName = new GradientShard(0, 1, 0, 1, 2, 1, [new NamedTensor("v", Tensor<float>.Vector(1f, 2f)), new NamedTensor("b", Tensor<float>.Scalar(0f))]);
        var wrongShape = new GradientShard(0, 1, 0, 1, 2, 1, [new NamedTensor("w", Tensor<float>.Vector(1f, 2f, 3f)), new NamedTensor("b", Tensor<float>.Scalar(0f))]);
        var missing = new GradientShard(0, 1, 0, 1, 2, 1, [new NamedTensor("w", Tensor<float>.Vector(1f, 2f))]);
        var (s, replies) = Feed(Start(), new BeginStep(1, 1, 2), wrongName, wrongShape, missing);
        Assert.Empty(replies);
        Assert.Equal(3, s.Stale);
    }
}
