using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using DistributedBackprop.Actors;
using DistributedBackprop.Core;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors.Tests;

/// <summary>
/// The coordinator actor with test probes as its workers (its parameter server is the real one, its child),
/// every message crossing the wire format.
/// </summary>
public class CoordinatorSpec() : TestKit(ActorSystems.Local("akka.actor.serialize-messages = on"))
{
    // Three micro-shards a step: with two workers, one gets the node [0, 2), the other [2, 3).
    private static readonly TrainingSettings Settings = StepRulesTests.Settings;

    private sealed record Run(IActorRef Coordinator, TaskCompletionSource<RunOutcome> Done, List<StepLog> Logs);

    private Run Start(TimeSpan? resendAfter = null, long until = 2)
    {
        var done = new TaskCompletionSource<RunOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        var logs = new List<StepLog>();
        var plan = new StepPlan(Settings, until, null, WaitForWorkers: false, resendAfter ?? TimeSpan.FromMinutes(1));
        var coordinator = Sys.ActorOf(Coordinator.Props(plan, TrainingState.Start(Settings), log => { lock (logs) logs.Add(log); }, done));
        return new Run(coordinator, done, logs);
    }

    /// <summary>A gradient of the right shapes for a shard; its values are <paramref name="value"/> everywhere.</summary>
    private static GradientShard Gradient(ComputeShard c, float value = 0.5f) => new(c.Version, c.Step, c.Shard, c.Shards, c.Examples.Length, 1.0,
        Settings.Objective.Model.Parameters.Select(p => new NamedTensor(p.Name, Tensor<float>.FromArray(Enumerable.Repeat(value, Shapes.Size(p.Shape)).ToArray(), p.Shape))).ToArray());

    /// <summary>Work the probe receives: the first piece (waited for, however slow the machine), then any until none comes for a moment.</summary>
    private static List<ComputeShard> Shards(TestProbe worker)
    {
        var shards = new List<ComputeShard> { worker.FishForMessage<ComputeShard>(_ => true, TimeSpan.FromSeconds(10)) };
        while (worker.ReceiveOne(TimeSpan.FromMilliseconds(300)) is { } m)
            if (m is ComputeShard c) shards.Add(c);
        return shards;
    }

    private static void Answer(TestProbe worker, IActorRef coordinator, IEnumerable<ComputeShard> shards, float value = 0.5f)
    {
        foreach (var c in shards) coordinator.Tell(Gradient(c, value), worker.Ref);
    }

    private static RunOutcome Outcome(Run run)
    {
        Assert.True(run.Done.Task.Wait(TimeSpan.FromSeconds(10)), "the run did not end");
        return run.Done.Task.Result;
    }

    [Fact]
    public void Workers_get_the_parameters_then_a_node_each_and_a_complete_step_is_logged()
    {
        var (a, b) = (CreateTestProbe(), CreateTestProbe());
        var run = Start(until: 1);
        run.Coordinator.Tell(new Coordinator.AddWorkers([a.Ref, b.Ref]));
        Assert.Equal(0, a.ExpectMsg<ParameterUpdate>().Version);
        Assert.Equal(0, b.ExpectMsg<ParameterUpdate>().Version);
        var (onA, onB) = (Shards(a), Shards(b));
        Assert.Equal([(0, 2, 8)], onA.Select(c => (c.Shard, c.Shards, c.Examples.Length)));
        Assert.Equal([(2, 1, 2)], onB.Select(c => (c.Shard, c.Shards, c.Examples.Length)));
        Answer(a, run.Coordinator, onA);
        Answer(b, run.Coordinator, onB);
        var outcome = Outcome(run);
        Assert.Null(outcome.Error);
        Assert.Equal(1, outcome.State!.Step);
        Assert.Equal(0, Assert.Single(run.Logs).Step);
    }

    [Fact]
    public void A_worker_lost_mid_step_has_its_unfinished_work_sent_to_the_other()
    {
        var (a, b) = (CreateTestProbe(), CreateTestProbe());
        var run = Start(until: 1);
        run.Coordinator.Tell(new Coordinator.AddWorkers([a.Ref, b.Ref]));
        Assert.Single(Shards(a));
        Answer(b, run.Coordinator, Shards(b));
        Sys.Stop(a.Ref); // a dies holding the node [0, 2)
        var resent = Shards(b);
        Assert.Equal([(0, 2)], resent.Select(c => (c.Shard, c.Shards)));
        Answer(b, run.Coordinator, resent);
        Assert.Null(Outcome(run).Error);
    }

    [Fact]
    public void A_late_joiner_is_used_from_the_next_step()
    {
        var (a, b) = (CreateTestProbe(), CreateTestProbe());
        var run = Start();
        run.Coordinator.Tell(new Coordinator.AddWorkers([a.Ref]));
        var first = Shards(a);
        Assert.Equal([(0, 3)], first.Select(c => (c.Shard, c.Shards))); // alone, a has the whole tree
        run.Coordinator.Tell(new Coordinator.AddWorkers([b.Ref]));
        Assert.Equal(0, b.ExpectMsg<ParameterUpdate>().Version);
        b.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // the step's work is all taken
        Answer(a, run.Coordinator, first);
        Assert.Equal(1, a.ExpectMsg<ParameterUpdate>().Version);
        Assert.Equal(1, b.ExpectMsg<ParameterUpdate>().Version);
        var (onA, onB) = (Shards(a), Shards(b));
        Assert.Equal(3, onA.Concat(onB).Sum(c => c.Shards));
        Assert.Single(onA);
        Assert.Single(onB);
        Assert.All(onA.Concat(onB), c => Assert.Equal((1L, 1L), (c.Step, c.Version)));
        Answer(a, run.Coordinator, onA);
        Answer(b, run.Coordinator, onB);
        Assert.Equal(2, Outcome(run).State!.Step);
    }

    [Fact]
    public void A_step_with_a_lost_gradient_sends_its_work_again_after_the_resend_time()
    {
        var (a, b) = (CreateTestProbe(), CreateTestProbe());
        var run = Start(resendAfter: TimeSpan.FromSeconds(1.5), until: 1);
        run.Coordinator.Tell(new Coordinator.AddWorkers([a.Ref, b.Ref]));
        Answer(a, run.Coordinator, Shards(a)); // b's gradient is lost
        Shards(b);
        var (againA, againB) = (Shards(a), Shards(b));
        Assert.Equal([(0, 2), (2, 1)], againA.Concat(againB).Select(c => (c.Shard, c.Shards))); // the server may lack either
        Answer(a, run.Coordinator, againA);
        Answer(b, run.Coordinator, againB);
        var outcome = Outcome(run);
        Assert.Null(outcome.Error);
        Assert.Equal(1, outcome.State!.Step);
    }

    [Fact]
    public void A_step_the_server_refuses_ends_the_run_as_divergence()
    {
        var a = CreateTestProbe();
        var run = Start();
        run.Coordinator.Tell(new Coordinator.AddWorkers([a.Ref]));
        Answer(a, run.Coordinator, Shards(a), value: float.NaN);
        Answer(a, run.Coordinator, Shards(a), value: float.NaN); // asked again (there is no other worker): the same
        var e = Assert.IsType<TrainingDivergedException>(Outcome(run).Error);
        Assert.Equal(0, e.Step);
        Assert.Empty(run.Logs);
    }

    [Fact]
    public void A_worker_whose_gradient_is_not_finite_is_excluded_when_another_computes_it_and_the_run_goes_on()
    {
        var (a, b) = (CreateTestProbe(), CreateTestProbe());
        var run = Start(until: 2);
        run.Coordinator.Tell(new Coordinator.AddWorkers([a.Ref, b.Ref]));
        Answer(a, run.Coordinator, Shards(a), value: float.NaN); // a is wrong
        var onB = Shards(b);
        Assert.Equal([(2, 1), (0, 2)], onB.Select(c => (c.Shard, c.Shards))); // its own, and a's again
        Answer(b, run.Coordinator, onB);
        var next = Shards(b); // step 1: b alone has the whole tree
        Assert.Equal([(1L, 0, 3)], next.Select(c => (c.Step, c.Shard, c.Shards)));
        a.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Answer(b, run.Coordinator, next);
        var outcome = Outcome(run);
        Assert.Null(outcome.Error);
        Assert.Equal(2, outcome.State!.Step);
    }

    [Fact]
    public void A_kill_sent_to_the_parameter_server_is_ignored_and_it_keeps_its_state()
    {
        var a = CreateTestProbe();
        var run = Start(until: 2);
        run.Coordinator.Tell(new Coordinator.AddWorkers([a.Ref]));
        Answer(a, run.Coordinator, Shards(a));
        Assert.Equal(1, a.FishForMessage<ParameterUpdate>(u => u.Version == 1, TimeSpan.FromSeconds(10)).Version);
        Sys.ActorSelection(run.Coordinator.Path / "parameter-server").Tell(Kill.Instance);
        Answer(a, run.Coordinator, Shards(a));
        var outcome = Outcome(run);
        Assert.Null(outcome.Error);
        Assert.Equal((2L, 2L), (outcome.State!.Step, outcome.State.Optimizer.Step)); // step 1 was applied on top of step 0, not from a fresh start
    }
}
