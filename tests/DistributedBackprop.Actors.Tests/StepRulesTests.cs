using DistributedBackprop.Actors;
using DistributedBackprop.Core;
using DistributedBackprop.Data;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;
using Send = DistributedBackprop.Actors.StepSend<string>;
using On = DistributedBackprop.Actors.StepEvent<string>;

namespace DistributedBackprop.Actors.Tests;

/// <summary>The coordinator's rule as a pure function, without Akka: workers are named by strings.</summary>
public class StepRulesTests
{
    // 10 examples a step in micro-shards of 4: shards 0 and 1 of 4 examples, shard 2 of 2.
    internal static readonly TrainingSettings Settings = new(new Objective(Sequential.Mlp(1, [2], 1, "tanh"), LossKind.Mse),
        new Sgd(0.1), new Batches(10, 10, Shuffle: false, Seed: 0), Steps: 3, MicroShard: 4, Seed: 0);

    private static readonly ParameterUpdate Initial = new(0, [new NamedTensor("w", Tensor<float>.Scalar(1))]);

    private static StepState<string> Start(long until = 3, bool wait = false, CheckpointPolicy? checkpoint = null, int maxResends = 20) =>
        StepState<string>.Start(new StepPlan(Settings, until, checkpoint, wait, TimeSpan.FromSeconds(1), maxResends), 0, Initial);

    internal static (StepState<string> State, List<Send> Sends) Feed(StepState<string> s, params On[] events)
    {
        var all = new List<Send>();
        foreach (var e in events)
        {
            (s, var sends) = StepRules.Handle(s, e);
            all.AddRange(sends);
        }
        return (s, all);
    }

    /// <summary>The state in step 0 with workers a and b: a has the node of shards [0, 2), b the node [2, 3).</summary>
    private static StepState<string> Running(bool wait = false, int maxResends = 20, CheckpointPolicy? checkpoint = null, long until = 3) =>
        Feed(Start(until, wait, checkpoint, maxResends), new On.Started(), new On.Joined(["a", "b"])).State;

    /// <summary>A gradient of the right shapes and count for the node (10 examples in micro-shards of 4), filled with <paramref name="value"/>.</summary>
    private static GradientShard Gradient(int first, int shards, long step = 0, long version = 0, float value = 0.5f, int? count = null) =>
        new(version, step, first, shards, count ?? Math.Max(0, Math.Min(10, (first + shards) * 4) - first * 4), 1.0,
            [.. Settings.Objective.Model.Parameters.Select(p => new NamedTensor(p.Name, Tensor<float>.Filled(value, p.Shape)))]);

    private static string Describe(Send s) => s switch
    {
        Send.Compute c => $"compute [{c.Shard.Shard},{c.Shard.Shard + c.Shard.Shards}) on {c.Worker} (attempt {c.Attempt}, version {c.Shard.Version}, step {c.Shard.Step}, examples {string.Join(",", c.Shard.Examples)})",
        Send.Update u => $"update {u.Worker} to version {u.Parameters.Version}",
        Send.Pass p => $"pass gradient [{p.Gradient.Shard},{p.Gradient.Shard + p.Gradient.Shards}) of step {p.Gradient.Step} (attempt {p.Attempt})",
        Send.ToServer { Message: BeginStep b } => $"begin step {b.Step}: {b.Shards} shards, {b.Examples} examples",
        Send.ToServer { Message: GradientShard g } => $"server gets stale gradient [{g.Shard},{g.Shard + g.Shards}) of step {g.Step}",
        Send.ToServer { Message: SaveCheckpoint c } => $"checkpoint before step {c.Step}",
        Send.ToServer { Message: GetState } => "ask for the state",
        Send.Watch w => $"watch {w.Worker}",
        Send.Unwatch w => $"unwatch {w.Worker}",
        Send.ScheduleResend r => $"resend step {r.Step} after {r.After.TotalSeconds} s",
        Send.Log l => $"log step {l.Entry.Step} loss {l.Entry.Loss}",
        Send.Finish { Outcome.Error: { } e } => $"fail: {e.GetType().Name}: {e.Message}",
        Send.Finish f => $"finish at step {f.Outcome.State!.Step}",
        Send.Exclude x => $"exclude {x.Worker}: {x.Reason}",
        Send.Release r => $"release gradient [{r.Gradient.Shard},{r.Gradient.Shard + r.Gradient.Shards}) of step {r.Gradient.Step}",
        _ => s.ToString(),
    };

    private static void AssertSends(IEnumerable<Send> sends, params string[] expected) => Assert.Equal(expected, sends.Select(Describe));

    [Fact]
    public void Joining_workers_get_the_parameters_then_a_node_of_the_first_steps_shard_tree_each()
    {
        var (_, sends) = Feed(Start(), new On.Started(), new On.Joined(["a", "b"]));
        AssertSends(sends,
            "watch a", "update a to version 0", "watch b", "update b to version 0",
            "begin step 0: 3 shards, 10 examples",
            "compute [0,2) on a (attempt 0, version 0, step 0, examples 0,1,2,3,4,5,6,7)",
            "compute [2,3) on b (attempt 0, version 0, step 0, examples 8,9)",
            "resend step 0 after 1 s");
    }

    [Fact]
    public void A_worker_lost_mid_step_has_only_its_unfinished_work_handed_to_the_others()
    {
        var (s, sends) = Feed(Running(), new On.GradientPassed("b", Gradient(2, 1)), new On.Lost("a"));
        AssertSends(sends, "pass gradient [2,3) of step 0 (attempt 0)", "unwatch a", "compute [0,2) on b (attempt 1, version 0, step 0, examples 0,1,2,3,4,5,6,7)");
        Assert.Equal(["b"], s.Workers);
        var (_, again) = Feed(s, new On.Lost("a")); // lost twice: once is enough
        Assert.Empty(again);
    }

    [Fact]
    public void In_one_process_a_run_whose_last_worker_is_lost_fails_naming_the_step()
    {
        var (s, sends) = Feed(Running(), new On.Lost("a"), new On.Lost("b"));
        Assert.Equal("fail: InvalidOperationException: step 0: every worker has stopped", Describe(sends[^1]));
        Assert.True(s.Done);
        Assert.Empty(Feed(s, new On.Joined(["c"])).Sends);
    }

    [Fact]
    public void A_cluster_with_no_worker_left_waits_and_a_joiner_takes_every_unfinished_node()
    {
        var (s, sends) = Feed(Running(wait: true), new On.GradientPassed("b", Gradient(2, 1)), new On.Lost("a"), new On.Lost("b"));
        AssertSends(sends, "pass gradient [2,3) of step 0 (attempt 0)", "unwatch a",
            "compute [0,2) on b (attempt 1, version 0, step 0, examples 0,1,2,3,4,5,6,7)",
            "unwatch b");
        var (_, joined) = Feed(s, new On.Joined(["c"]));
        AssertSends(joined, "watch c", "update c to version 0",
            "compute [0,2) on c (attempt 2, version 0, step 0, examples 0,1,2,3,4,5,6,7)");
    }

    [Fact]
    public void A_late_joiner_gets_the_latest_parameters_and_work_from_the_next_step()
    {
        var update = new ParameterUpdate(1, Initial.Parameters);
        var (s, sends) = Feed(Running(), new On.Updated(update), new On.Joined(["c", "a"]));
        AssertSends(sends, "update a to version 1", "update b to version 1", "watch c", "update c to version 1");
        (_, sends) = Feed(s, new On.Applied(new StepApplied(0, 1, 0.5)));
        AssertSends(sends, "log step 0 loss 0.5", "begin step 1: 3 shards, 10 examples",
            // Three workers, three nodes: the tree cut at its widest node until there is one each.
            "compute [0,1) on c (attempt 0, version 1, step 1, examples 0,1,2,3)",
            "compute [1,2) on a (attempt 0, version 1, step 1, examples 4,5,6,7)",
            "compute [2,3) on b (attempt 0, version 1, step 1, examples 8,9)",
            "resend step 1 after 1 s");
    }

    [Fact]
    public void A_resend_sends_every_node_again_and_a_step_that_never_moves_gives_up()
    {
        var (s, sends) = Feed(Running(maxResends: 2), new On.GradientPassed("a", Gradient(0, 2)), new On.ResendDue(0));
        AssertSends(sends, "pass gradient [0,2) of step 0 (attempt 0)",
            // A gradient may be lost after it passed: every node goes out again.
            "compute [0,2) on a (attempt 1, version 0, step 0, examples 0,1,2,3,4,5,6,7)",
            "compute [2,3) on b (attempt 1, version 0, step 0, examples 8,9)",
            "resend step 0 after 1 s");
        Assert.Empty(Feed(s, new On.ResendDue(7)).Sends); // another step's timer
        (s, sends) = Feed(s, new On.ResendDue(0), new On.ResendDue(0));
        Assert.Equal("fail: TimeoutException: step 0 made no progress after 2 resends", Describe(sends[^1]));
        Assert.True(s.Done);
    }

    [Fact]
    public void Gradients_of_another_step_or_version_go_to_the_server_as_stale()
    {
        // Late answers are no fault: the server counts them and applies nothing of them.
        var (s, sends) = Feed(Running(), new On.GradientPassed("a", Gradient(0, 2, step: 5)), new On.GradientPassed("a", Gradient(0, 2, version: 3)));
        AssertSends(sends, "server gets stale gradient [0,2) of step 5", "server gets stale gradient [0,2) of step 0");
        Assert.Empty(s.Finished);
        Assert.Equal(0, s.Refused);
    }

    [Fact]
    public void An_applied_step_is_logged_then_checkpointed_when_due_then_the_next_begins()
    {
        var policy = new CheckpointPolicy("/nonexistent", Every: 2);
        var (s, sends) = Feed(Running(checkpoint: policy), new On.Applied(new StepApplied(0, 1, 0.25)));
        AssertSends(sends.Take(2), "log step 0 loss 0.25", "begin step 1: 3 shards, 10 examples"); // 1 is not a multiple of 2
        (s, sends) = Feed(s, new On.Applied(new StepApplied(1, 2, 0.125)));
        AssertSends(sends, "log step 1 loss 0.125", "checkpoint before step 2");
        (_, sends) = Feed(s, new On.CheckpointWritten(new CheckpointSaved(2, null)));
        Assert.Equal("begin step 2: 3 shards, 10 examples", Describe(sends[0]));
        var (failed, error) = Feed(s, new On.CheckpointWritten(new CheckpointSaved(2, "disk full")));
        AssertSends(error, "fail: IOException: checkpoint /nonexistent/checkpoint.dbp: disk full");
        Assert.True(failed.Done);
    }

    [Fact]
    public void The_last_step_asks_for_the_state_and_the_snapshot_ends_the_run()
    {
        var (s, sends) = Feed(Running(until: 1), new On.Applied(new StepApplied(0, 1, 1)));
        AssertSends(sends, "log step 0 loss 1", "ask for the state");
        var parameters = new[] { new NamedTensor("w", Tensor<float>.Scalar(3)) };
        (s, sends) = Feed(s, new On.Snapshot(new StateSnapshot(1, 1, parameters, 1, [])));
        AssertSends(sends, "finish at step 1");
        Assert.Equal(3f, ((Send.Finish)sends[0]).Outcome.State!.Parameters["w"].Item());
        Assert.True(s.Done);
    }

    [Fact]
    public void A_run_that_starts_at_its_end_only_asks_for_the_state() =>
        AssertSends(Feed(StepState<string>.Start(new StepPlan(Settings, 5, null, false, TimeSpan.FromSeconds(1)), 5, Initial), new On.Started(), new On.Joined(["a"])).Sends,
            "ask for the state", "watch a", "update a to version 0");

    [Fact]
    public void A_refused_step_ends_the_run_as_divergence_and_nothing_after_it_counts()
    {
        var (s, sends) = Feed(Running(), new On.Refused(new StepRefused(0, "step 0: the gradient is not finite")));
        AssertSends(sends, "fail: TrainingDivergedException: step 0: the gradient is not finite");
        Assert.Empty(Feed(s, new On.Applied(new StepApplied(0, 1, 1)), new On.ResendDue(0)).Sends);
    }

    [Fact]
    public void An_applied_message_for_another_step_changes_nothing()
    {
        var running = Running();
        var (s, sends) = Feed(running, new On.Applied(new StepApplied(4, 5, 1)));
        Assert.Empty(sends);
        Assert.Same(running, s);
    }

    [Fact]
    public void A_gradient_from_no_worker_of_the_run_is_refused_and_counted()
    {
        var (s, sends) = Feed(Running(), new On.GradientPassed("mallory", Gradient(0, 2)));
        Assert.Empty(sends);
        Assert.Equal(1, s.Refused);
    }

    [Fact]
    public void A_worker_that_sends_work_it_was_not_given_or_of_the_wrong_count_or_shape_is_excluded_and_its_work_goes_on()
    {
        var (s, sends) = Feed(Running(), new On.GradientPassed("b", Gradient(0, 2)));
        AssertSends(sends, "exclude b: it sent a gradient of micro-shards [0, 2) of step 0, which it was not given",
            "unwatch b", "compute [2,3) on a (attempt 1, version 0, step 0, examples 8,9)");
        Assert.Equal((1L, 1), (s.Refused, s.Workers.Count));
        Assert.Empty(Feed(s, new On.Joined(["b"])).Sends); // out of the run for good

        (_, sends) = Feed(Running(), new On.GradientPassed("a", Gradient(0, 2, count: 9)));
        Assert.Equal("exclude a: its gradient counts 9 examples; the micro-shards it was given hold 8", Describe(sends[0]));
        var misshapen = Gradient(2, 1) with { Gradients = [.. Gradient(2, 1).Gradients.Select((t, i) => i == 0 ? new NamedTensor(t.Name, Tensor<float>.Zeros(3)) : t)] };
        (_, sends) = Feed(Running(), new On.GradientPassed("b", misshapen));
        Assert.Equal("exclude b: its gradient of 0.weight has shape [3], not [2, 1]", Describe(sends[0]));
    }

    [Fact]
    public void A_non_finite_gradient_is_computed_again_elsewhere_and_the_worker_that_was_wrong_is_excluded()
    {
        var (s, sends) = Feed(Running(), new On.GradientPassed("a", Gradient(0, 2, value: float.NaN)));
        AssertSends(sends, "compute [0,2) on b (attempt 1, version 0, step 0, examples 0,1,2,3,4,5,6,7)"); // a second opinion, not a's
        Assert.Empty(Feed(s, new On.GradientPassed("a", Gradient(0, 2, value: float.NaN))).Sends); // a again: still waiting
        (s, sends) = Feed(s, new On.GradientPassed("b", Gradient(0, 2)));
        AssertSends(sends, "exclude a: its gradient for micro-shards [0, 2) of step 0 was not finite; another worker's was",
            "unwatch a", "pass gradient [0,2) of step 0 (attempt 1)");
        Assert.Equal(["b"], s.Workers);
    }

    [Fact]
    public void A_non_finite_gradient_that_a_second_worker_reproduces_goes_to_the_server_which_stops_the_run()
    {
        var (s, _) = Feed(Running(), new On.GradientPassed("a", Gradient(0, 2, value: float.PositiveInfinity)));
        var (_, sends) = Feed(s, new On.GradientPassed("b", Gradient(0, 2, value: float.NaN)));
        AssertSends(sends, "pass gradient [0,2) of step 0 (attempt 1)");
        // With one worker, its own second result is the second opinion.
        var alone = Feed(Start(), new On.Started(), new On.Joined(["a"])).State;
        (alone, sends) = Feed(alone, new On.GradientPassed("a", Gradient(0, 3, value: float.NaN)));
        AssertSends(sends, "compute [0,3) on a (attempt 1, version 0, step 0, examples 0,1,2,3,4,5,6,7,8,9)");
        AssertSends(Feed(alone, new On.GradientPassed("a", Gradient(0, 3, value: float.NaN))).Sends, "pass gradient [0,3) of step 0 (attempt 1)");
    }

    private static StepState<string> Audited(params string[] workers) =>
        Feed(StepState<string>.Start(new StepPlan(Settings, 3, null, false, TimeSpan.FromSeconds(1), Audit: 1), 0, Initial), new On.Started(), new On.Joined(workers)).State;

    [Fact]
    public void An_audited_node_is_computed_twice_and_passed_when_the_two_agree()
    {
        var (s, sends) = Feed(Audited("a", "b"), new On.GradientPassed("a", Gradient(0, 2)));
        AssertSends(sends, "compute [0,2) on b (attempt 1, version 0, step 0, examples 0,1,2,3,4,5,6,7)");
        (_, sends) = Feed(s, new On.GradientPassed("b", Gradient(0, 2)));
        AssertSends(sends, "release gradient [0,2) of step 0", "pass gradient [0,2) of step 0 (attempt 1)"); // a's copy goes back to the pool
    }

    [Fact]
    public void When_two_disagree_a_third_worker_decides_and_the_one_that_differs_is_excluded()
    {
        var (s, sends) = Feed(Audited("a", "b", "c"), new On.GradientPassed("b", Gradient(1, 1, value: 500f)), new On.GradientPassed("a", Gradient(1, 1)));
        Assert.Equal("compute [1,2) on c (attempt 2, version 0, step 0, examples 4,5,6,7)", Describe(sends[^1]));
        (s, sends) = Feed(s, new On.GradientPassed("c", Gradient(1, 1)));
        AssertSends(sends, "exclude b: its gradient for micro-shards [1, 2) of step 0 differs, bit for bit, from two other workers' (audit)",
            "unwatch b", "release gradient [1,2) of step 0", "release gradient [1,2) of step 0", // b's and a's opinions
            "pass gradient [1,2) of step 0 (attempt 2)"); // b held nothing else unfinished
        Assert.Equal(["a", "c"], s.Workers);
    }

    [Fact]
    public void A_worker_caught_on_two_nodes_of_one_step_is_excluded_once()
    {
        // b is asked again for a's node [0,1), and computes both it and its own [1,2) wrong; c decides both.
        var (s, sends) = Feed(Audited("a", "b", "c"), new On.GradientPassed("a", Gradient(0, 1)));
        Assert.Equal("compute [0,1) on b (attempt 1, version 0, step 0, examples 0,1,2,3)", Describe(sends[^1]));
        (s, sends) = Feed(s, new On.GradientPassed("b", Gradient(0, 1, value: 500f)), new On.GradientPassed("b", Gradient(1, 1, value: 500f)),
            new On.GradientPassed("a", Gradient(1, 1)), new On.GradientPassed("c", Gradient(0, 1)), new On.GradientPassed("c", Gradient(1, 1)));
        Assert.Single(sends, x => x is Send.Exclude);
        Assert.Equal(2, sends.Count(x => x is Send.Pass));
        Assert.Equal(["a", "c"], s.Workers);
    }

    [Fact]
    public void With_two_workers_that_disagree_and_none_to_decide_the_run_stops_saying_so()
    {
        var (_, sends) = Feed(Audited("a", "b"), new On.GradientPassed("a", Gradient(0, 2)), new On.GradientPassed("b", Gradient(0, 2, value: 0.25f)));
        Assert.Equal("fail: InvalidOperationException: step 0: workers a and b computed micro-shards [0, 2) of step 0 differently, and there is no third worker to decide", Describe(sends[^1]));
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void A_gradient_with_one_non_finite_element_anywhere_is_not_finite(float bad)
    {
        // 203 elements: whole vectors of every width and a tail; the bad one at each place in turn.
        var values = Enumerable.Range(0, 203).Select(i => i % 3 == 0 ? float.MaxValue : i % 3 == 1 ? -float.Epsilon : -0f).ToArray();
        GradientShard With(float[] v, double loss = 1.0) => new(0, 0, 0, 1, 4, loss, [new("w", Tensor<float>.FromArray(v, [v.Length]))]);
        Assert.True(GradientChecks.Finite(With(values)));
        Assert.False(GradientChecks.Finite(With(values, loss: bad)));
        for (int at = 0; at < values.Length; at++)
            Assert.False(GradientChecks.Finite(With(values.Select((x, i) => i == at ? bad : x).ToArray())), $"element {at}");
    }

    [Fact]
    public void The_audited_steps_are_a_pure_function_of_seed_and_step()
    {
        var chosen = Enumerable.Range(0, 1000).Count(i => GradientChecks.Audited(0, i, 0.1));
        Assert.InRange(chosen, 70, 130);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => GradientChecks.Audited(3, i, 0.3)), Enumerable.Range(0, 50).Select(i => GradientChecks.Audited(3, i, 0.3)));
        Assert.NotEqual(Enumerable.Range(0, 50).Select(i => GradientChecks.Audited(3, i, 0.3)), Enumerable.Range(0, 50).Select(i => GradientChecks.Audited(4, i, 0.3)));
        Assert.False(GradientChecks.Audited(0, 1, 0));
        Assert.True(GradientChecks.Audited(0, 1, 1));
    }

    [Fact]
    public void In_an_audited_step_every_node_is_computed_twice_each_worker_checking_another()
    {
        var plan = new StepPlan(Settings, 40, null, false, TimeSpan.FromSeconds(1), Audit: 0.5);
        long audited = Enumerable.Range(0, 40).First(i => GradientChecks.Audited(Settings.Seed, i, 0.5));
        var (s, _) = Feed(StepState<string>.Start(plan, audited, Initial), new On.Started(), new On.Joined(["a", "b"]));
        var (_, sends) = Feed(s, new On.GradientPassed("a", Gradient(0, 2, step: audited)), new On.GradientPassed("b", Gradient(2, 1, step: audited)));
        // Neither gradient passes yet: each node goes to the worker that did not compute it.
        Assert.Equal(["b", "a"], sends.OfType<Send.Compute>().Select(c => c.Worker));
        Assert.Empty(sends.OfType<Send.Pass>());
    }

    [Fact]
    public void With_staleness_the_next_step_is_computed_while_the_server_applies_this_one_and_reaches_it_in_order()
    {
        var plan = new StepPlan(Settings with { Staleness = 1 }, 3, null, false, TimeSpan.FromSeconds(1));
        var (s, _) = Feed(StepState<string>.Start(plan, 0, Initial), new On.Started(), new On.Joined(["a", "b"]));
        var (next, sends) = Feed(s, new On.GradientPassed("a", Gradient(0, 2)), new On.GradientPassed("b", Gradient(2, 1)));
        // Step 0's gradients go to the server, and step 1 is handed out at once, with step 0's parameters (version 0) ...
        Assert.Equal(["pass gradient [0,2) of step 0 (attempt 0)", "pass gradient [2,3) of step 0 (attempt 0)"], sends.OfType<Send.Pass>().Select(Describe));
        Assert.All(sends.OfType<Send.Compute>(), c => Assert.Equal((1L, 0L), (c.Shard.Step, c.Shard.Version)));
        Assert.Equal(2, sends.OfType<Send.Compute>().Count());
        // ... but the server hears of step 1 only once it has applied step 0: it applies steps in order.
        Assert.DoesNotContain(sends, x => x is Send.ToServer { Message: BeginStep });
        (next, sends) = Feed(next, new On.GradientPassed("a", Gradient(0, 2, step: 1)));
        Assert.Empty(sends); // held: step 1 has not reached the server
        var v1 = new ParameterUpdate(1, [new NamedTensor("w", Tensor<float>.Scalar(2))]);
        (next, sends) = Feed(next, new On.Updated(v1), new On.Applied(new StepApplied(0, 1, 0.5)));
        Assert.Equal(["log step 0 loss 0.5", "begin step 1: 3 shards, 10 examples", "pass gradient [0,2) of step 1 (attempt 0)"],
            sends.Where(x => x is Send.Log or Send.ToServer or Send.Pass).Select(Describe));
        // Step 1's last gradient: step 2 is computed with the parameters from before step 1, version 1.
        (_, sends) = Feed(next, new On.GradientPassed("b", Gradient(2, 1, step: 1)));
        Assert.All(sends.OfType<Send.Compute>(), c => Assert.Equal((2L, 1L), (c.Shard.Step, c.Shard.Version)));
        Assert.NotEmpty(sends.OfType<Send.Compute>());
    }
}
