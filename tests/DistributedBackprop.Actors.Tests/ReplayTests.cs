using DistributedBackprop.Actors;
using DistributedBackprop.Core;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;
using Send = DistributedBackprop.Actors.StepSend<string>;
using On = DistributedBackprop.Actors.StepEvent<string>;

namespace DistributedBackprop.Actors.Tests;

/// <summary>Exact replay: which snapshot to go back to, which to keep, the server's snapshots, and the coordinator going back.</summary>
public class ReplayTests
{
    [Theory]
    [InlineData(new long[] { 0, 10, 20 }, 25, 20L)]
    [InlineData(new long[] { 0, 10, 20 }, 20, 20L)]  // the state before the step itself holds nothing of it
    [InlineData(new long[] { 0, 10, 20 }, 19, 10L)]
    [InlineData(new long[] { 20, 0, 10 }, 3, 0L)]    // in any order
    [InlineData(new long[] { 10, 20 }, 9, null)]     // none early enough: the run cannot go back
    [InlineData(new long[] { }, 5, null)]
    public void The_run_goes_back_to_the_latest_snapshot_at_or_before_the_first_unchecked_step(long[] snapshots, long target, long? expected) =>
        Assert.Equal(expected, Replay.RollBackTo(snapshots, target));

    [Theory]
    // snapshots, first unchecked step of each live worker, current step -> discardable
    [InlineData(new long[] { 0, 10, 20 }, new long[] { }, 20, new long[] { 0, 10 })]       // nothing unchecked: only the newest is needed
    [InlineData(new long[] { 0, 10, 20 }, new long[] { 3 }, 20, new long[] { 10 })]        // a worker unchecked since 3 needs 0
    [InlineData(new long[] { 0, 10, 20 }, new long[] { 3, 12 }, 25, new long[] { })]       // and one since 12 needs 10
    [InlineData(new long[] { 0, 10, 20 }, new long[] { 15, 12 }, 25, new long[] { 0 })]
    [InlineData(new long[] { 0, 10, 20, 30 }, new long[] { 0 }, 30, new long[] { 10, 20 })] // at most one a worker, and one more
    public void A_snapshot_is_discarded_when_no_exclusion_can_choose_it(long[] snapshots, long[] unchecked_, long current, long[] expected) =>
        Assert.Equal(expected, Replay.Discardable(snapshots, unchecked_, current));

    [Theory]
    [InlineData(5, 5, 10, true)]   // the run's first step always
    [InlineData(15, 5, 10, true)]
    [InlineData(14, 5, 10, false)]
    [InlineData(3, 5, 10, false)]  // before the run
    [InlineData(15, 5, 0, false)]  // 0: only the first
    public void Snapshots_are_due_at_the_runs_start_and_every_K_steps(long step, long origin, int every, bool due) =>
        Assert.Equal(due, Replay.SnapshotDue(step, origin, every));

    // The server: momentum, so that going back must restore the optimizer's state too.
    private static readonly Optimizer Momentum = new Sgd(0.5, Momentum: 0.9);

    private static ServerState Server()
    {
        var p = new Parameters<float>([("w", Tensor<float>.Vector(1f, 2f)), ("b", Tensor<float>.Scalar(0f))]);
        return ServerState.Start(p, Momentum.Init(p), version: 0, step: 0);
    }

    private static (System.Collections.Immutable.ImmutableSortedDictionary<long, ServerSnapshot>, ServerState, List<IDbpMessage>) Feed(
        System.Collections.Immutable.ImmutableSortedDictionary<long, ServerSnapshot> snapshots, ServerState s, params IDbpMessage[] messages)
    {
        var all = new List<IDbpMessage>();
        foreach (var m in messages)
        {
            IReadOnlyList<IDbpMessage> replies;
            if (ServerSnapshots.Handles(m)) (snapshots, s, replies) = ServerSnapshots.Handle(snapshots, s, m);
            else (s, replies) = ParameterServerRules.Handle(s, m, Momentum);
            all.AddRange(replies);
        }
        return (snapshots, s, all);
    }

    private static IDbpMessage[] Step(long step, long version, float g) =>
        [new BeginStep(step, 1, 2), ParameterServerRulesTests.Shard(0, g, 2 * g, -g, step: step, version: version)];

    private static string Slots(ServerState s) => s.Optimizer.Slots.Hash();

    [Fact]
    public void The_server_goes_back_to_a_snapshot_bit_for_bit_under_a_new_version_and_replays_to_the_same_bits()
    {
        var empty = System.Collections.Immutable.ImmutableSortedDictionary<long, ServerSnapshot>.Empty;
        var (snapshots, s, _) = Feed(empty, Server(), [.. Step(0, 0, 1f), new TakeSnapshot(1), .. Step(1, 1, 3f), .. Step(2, 2, -2f)]);
        var (atOne, slotsAtOne) = (Feed(empty, Server(), Step(0, 0, 1f)).Item2.Parameters.Hash(), Slots(Feed(empty, Server(), Step(0, 0, 1f)).Item2));
        var (clean, cleanSlots) = (s.Parameters.Hash(), Slots(s));

        var (kept, back, replies) = Feed(snapshots, s, new RollBack(1));
        Assert.Equal((1L, 4L), (back.Step, back.Version)); // versions only go up: every older gradient is stale
        Assert.Equal(atOne, back.Parameters.Hash());
        Assert.Equal(slotsAtOne, Slots(back));
        Assert.Equal(4, Assert.IsType<ParameterUpdate>(replies[0]).Version);
        Assert.Equal(new RolledBack(1, 4), replies[1]);
        Assert.Equal([1L], kept.Keys);

        var (_, stale, _) = Feed(kept, back, ParameterServerRulesTests.Shard(0, 3f, 6f, -3f, step: 1, version: 1));
        Assert.Equal(1, stale.Stale); // a gradient of before the rollback
        var (_, replayed, _) = Feed(kept, back, [.. Step(1, 4, 3f), .. Step(2, 5, -2f)]);
        Assert.Equal((clean, cleanSlots), (replayed.Parameters.Hash(), Slots(replayed)));
    }

    [Fact]
    public void A_snapshot_is_taken_only_between_steps_at_the_servers_step_and_one_it_lacks_cannot_be_gone_back_to()
    {
        var empty = System.Collections.Immutable.ImmutableSortedDictionary<long, ServerSnapshot>.Empty;
        var (snapshots, s, _) = Feed(empty, Server(), new TakeSnapshot(3), new BeginStep(0, 1, 2), new TakeSnapshot(0));
        Assert.Empty(snapshots);
        Assert.Equal(2, s.Stale);
        var (_, stopped, replies) = Feed(snapshots, s, new RollBack(0));
        Assert.True(stopped.Stopped);
        Assert.Equal("cannot go back to the state before step 0: the server holds no snapshot of it", Assert.IsType<StepRefused>(Assert.Single(replies)).Reason);
        var (dropped, _, _) = Feed(Feed(empty, Server(), new TakeSnapshot(0)).Item1, Server(), new DropSnapshot(0));
        Assert.Empty(dropped);
    }

    // The coordinator: worker a computes step 0 alone (no one to check it), then b and c join and catch it.
    private static readonly ParameterUpdate Initial = new(0, [new NamedTensor("w", Tensor<float>.Scalar(1))]);

    private static (StepState<string> State, List<Send> Sends) Feed(StepState<string> s, params On[] events) => StepRulesTests.Feed(s, events);

    private static GradientShard Gradient(ShardNode node, long step, long version, float value = 0.5f) =>
        new(version, step, node.First, node.Count, Math.Min(10, node.End * 4) - node.First * 4, 1.0,
            [.. StepRulesTests.Settings.Objective.Model.Parameters.Select(p => new NamedTensor(p.Name, Tensor<float>.Filled(value, p.Shape)))]);

    private static StepState<string> Start(double audit) =>
        StepState<string>.Start(new StepPlan(StepRulesTests.Settings, 3, null, false, TimeSpan.FromSeconds(1), Audit: audit), 0, Initial);

    /// <summary>Step 0 by a alone (unchecked), applied; b and c joined: step 1 in flight, every node audited.</summary>
    private static (StepState<string>, List<Send>) AloneThenJoined(double audit)
    {
        var (s, sends) = Feed(Start(audit), new On.Started(), new On.Joined(["a"]));
        Assert.Contains(sends, x => x is Send.ToServer { Message: TakeSnapshot { Step: 0 } });
        return Feed(s, new On.GradientPassed("a", Gradient(new ShardNode(0, 3), 0, 0)), new On.Joined(["b", "c"]),
            new On.Updated(new ParameterUpdate(1, Initial.Parameters)), new On.Applied(new StepApplied(0, 1, 0.5)));
    }

    /// <summary>
    /// Feeds a's wrong gradient for its node of the step in flight and the right one from whoever is asked next,
    /// until a is excluded; returns what the last one sent.
    /// </summary>
    private static (StepState<string>, List<Send>) CatchA(StepState<string> s, List<Send> sends)
    {
        var mine = sends.OfType<Send.Compute>().Single(c => c.Worker == "a").Shard;
        var node = new ShardNode(mine.Shard, mine.Shards);
        (s, var next) = Feed(s, new On.GradientPassed("a", Gradient(node, mine.Step, mine.Version, value: 500f)));
        for (int i = 0; i < 2 && !s.Excluded.Contains("a"); i++)
        {
            var asked = next.OfType<Send.Compute>().Last(c => c.Shard.Shard == node.First).Worker;
            (s, next) = Feed(s, new On.GradientPassed(asked, Gradient(node, mine.Step, mine.Version)));
        }
        Assert.Contains("a", s.Excluded);
        return (s, next);
    }

    [Fact]
    public void A_worker_excluded_with_an_unchecked_gradient_in_the_parameters_sends_the_run_back_before_it_and_the_replay_is_logged()
    {
        var (s, sends) = AloneThenJoined(audit: 1);
        Assert.Equal(0, s.Unverified["a"]);
        (s, sends) = CatchA(s, sends);
        Assert.Equal(new RollBack(0), Assert.Single(sends.OfType<Send.ToServer>()).Message);
        Assert.DoesNotContain(sends, x => x is Send.Compute or Send.Pass); // the abandoned step's work is void
        Assert.Equal(0L, s.RollingBack);

        // Meanwhile, what the old timeline sends is not heard; the server's update is passed on.
        Assert.Empty(Feed(s, new On.Applied(new StepApplied(1, 2, 0.5)), new On.GradientPassed("b", Gradient(new ShardNode(0, 1), 1, 1)), new On.ResendDue(1)).Sends);
        (s, sends) = Feed(s, new On.Updated(new ParameterUpdate(7, Initial.Parameters)), new On.RolledBack(new RolledBack(0, 7)));
        Assert.Equal((0L, (long?)null), (s.Step, s.RollingBack));
        Assert.Equal(["b", "c"], s.Workers);
        Assert.Contains(sends, x => x is Send.ToServer { Message: BeginStep { Step: 0 } });
        Assert.All(sends.OfType<Send.Compute>(), c => Assert.Equal((0L, 7L), (c.Shard.Step, c.Shard.Version)));
        Assert.Empty(s.Opinions);
        Assert.Empty(s.Finished);

        (_, sends) = Feed(s, new On.Applied(new StepApplied(0, 8, 0.5)));
        var log = Assert.Single(sends.OfType<Send.Log>()).Entry;
        Assert.Equal(new StepReplay(0, 1, "a"), log.Replay);
    }

    [Fact]
    public void A_worker_whose_every_gradient_was_checked_is_excluded_without_going_back()
    {
        var (s, sends) = Feed(Start(audit: 1), new On.Started(), new On.Joined(["a", "b", "c"]));
        (s, sends) = CatchA(s, sends);
        Assert.DoesNotContain(sends, x => x is Send.ToServer { Message: RollBack });
        Assert.Null(s.RollingBack);
    }

    [Fact]
    public void Without_an_audit_nothing_is_snapshotted_and_an_exclusion_never_goes_back()
    {
        var (s, sends) = Feed(Start(audit: 0), new On.Started(), new On.Joined(["a"]));
        Assert.DoesNotContain(sends, x => x is Send.ToServer { Message: TakeSnapshot });
        (s, _) = Feed(s, new On.GradientPassed("a", Gradient(new ShardNode(0, 3), 0, 0)), new On.Joined(["b"]),
            new On.Updated(new ParameterUpdate(1, Initial.Parameters)), new On.Applied(new StepApplied(0, 1, 0.5)));
        (s, sends) = Feed(s, new On.GradientPassed("a", Gradient(new ShardNode(1, 1), 1, 1))); // no node of the step
        Assert.Contains(sends, x => x is Send.Exclude { Worker: "a" });
        Assert.DoesNotContain(sends, x => x is Send.ToServer { Message: RollBack });
    }

    [Fact]
    public void Snapshots_every_K_steps_are_kept_only_while_an_exclusion_could_choose_them()
    {
        var plan = new StepPlan(StepRulesTests.Settings, 30, null, false, TimeSpan.FromSeconds(1), Audit: 1, SnapshotEvery: 2);
        var (s, sends) = Feed(StepState<string>.Start(plan, 0, Initial), new On.Started(), new On.Joined(["a"]));
        (s, sends) = Feed(s, new On.GradientPassed("a", Gradient(new ShardNode(0, 3), 0, 0)), new On.Joined(["b"]),
            new On.Applied(new StepApplied(0, 1, 0.5)), new On.Applied(new StepApplied(1, 2, 0.5)), new On.Applied(new StepApplied(2, 3, 0.5)),
            new On.Applied(new StepApplied(3, 4, 0.5)));
        var toServer = sends.OfType<Send.ToServer>().Select(x => x.Message).Where(m => m is TakeSnapshot or DropSnapshot).ToList();
        // a's step-0 gradient was unchecked: 0 stays; 2 goes when 4 is taken.
        Assert.Equal([new TakeSnapshot(2), new TakeSnapshot(4), new DropSnapshot(2)], toServer);
        Assert.Equal([0L, 4L], s.Snapshots);
        (s, sends) = Feed(s, new On.Lost("a")); // a can no longer be excluded: 0 is needed no more
        (s, sends) = Feed(s, new On.Applied(new StepApplied(4, 5, 0.5)), new On.Applied(new StepApplied(5, 6, 0.5)));
        Assert.Equal([new DropSnapshot(0), new TakeSnapshot(6), new DropSnapshot(4)],
            sends.OfType<Send.ToServer>().Select(x => x.Message).Where(m => m is TakeSnapshot or DropSnapshot));
        Assert.Equal([6L], s.Snapshots);
    }
}
