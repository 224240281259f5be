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
    private static readonly TrainingSettings Settings = StepRulesTests.Settings; // three shards a step

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
    private static GradientShard Gradient(ComputeShard c, float value = 0.5f) => new(c.Version, c.Step, c.Shard, c.Examples.Length, 1.0,
        Settings.Objective.Model.Parameters.Select(p => new NamedTensor(p.Name, Tensor<float>.FromArray(Enumerable.Repeat(value, Shapes.Size(p.Shape)).ToArray(), p.Shape))).ToArray());

    /// <summary>Shards the probe receives until none comes for a moment.</summary>
    private static List<ComputeShard> Shards(TestProbe worker)
    {
        var shards = new List<ComputeShard>();
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
    public void Workers_get_the_parameters_then_shards_and_a_complete_step_is_logged()
    {
        var (a, b) = (CreateTestProbe(), CreateTestProbe());
        var run = Start(until: 1);
        run.Coordinator.Tell(new Coordinator.AddWorkers([a.Ref, b.Ref]));
        Assert.Equal(0, a.ExpectMsg<ParameterUpdate>().Version);
        Assert.Equal(0, b.ExpectMsg<ParameterUpdate>().Version);
        var (onA, onB) = (Shards(a), Shards(b));
        Assert.Equal([0, 2], onA.Select(c => c.Shard));
        Assert.Equal([1], onB.Select(c => c.Shard));
        Answer(a, run.Coordinator, onA);
        Answer(b, run.Coordinator, onB);
        var outcome = Outcome(run);
        Assert.Null(outcome.Error);
        Assert.Equal(1, outcome.State!.Step);
        Assert.Equal(0, Assert.Single(run.Logs).Step);
    }

    [Fact]
    public void A_worker_lost_mid_step_has_its_unfinished_shards_sent_to_the_other()
    {
        var (a, b) = (CreateTestProbe(), CreateTestProbe());
        var run = Start(until: 1);
        run.Coordinator.Tell(new Coordinator.AddWorkers([a.Ref, b.Ref]));
        var onA = Shards(a);
        Answer(b, run.Coordinator, Shards(b));
        Answer(a, run.Coordinator, onA.Take(1)); // a finishes shard 0, then dies holding shard 2
        Sys.Stop(a.Ref);
        var resent = Shards(b);
        Assert.Equal([2], resent.Select(c => c.Shard));
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
        Assert.Equal(3, first.Count);
        run.Coordinator.Tell(new Coordinator.AddWorkers([b.Ref]));
        Assert.Equal(0, b.ExpectMsg<ParameterUpdate>().Version);
        b.ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // the step's shards are all taken
        Answer(a, run.Coordinator, first);
        Assert.Equal(1, a.ExpectMsg<ParameterUpdate>().Version);
        Assert.Equal(1, b.ExpectMsg<ParameterUpdate>().Version);
        var (onA, onB) = (Shards(a), Shards(b));
        Assert.Equal(3, onA.Count + onB.Count);
        Assert.NotEmpty(onB);
        Assert.All(onA.Concat(onB), c => Assert.Equal((1L, 1L), (c.Step, c.Version)));
        Answer(a, run.Coordinator, onA);
        Answer(b, run.Coordinator, onB);
        Assert.Equal(2, Outcome(run).State!.Step);
    }

    [Fact]
    public void A_step_with_a_lost_gradient_sends_its_shards_again_after_the_resend_time()
    {
        var a = CreateTestProbe();
        var run = Start(resendAfter: TimeSpan.FromSeconds(1.5), until: 1);
        run.Coordinator.Tell(new Coordinator.AddWorkers([a.Ref]));
        var first = Shards(a);
        Answer(a, run.Coordinator, first.Take(2)); // the third gradient is lost
        List<ComputeShard> again = [a.ExpectMsg<ComputeShard>(TimeSpan.FromSeconds(10)), .. Shards(a)];
        Assert.Equal([0, 1, 2], again.Select(c => c.Shard)); // the server may lack any of them
        Answer(a, run.Coordinator, again);
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
        var e = Assert.IsType<TrainingDivergedException>(Outcome(run).Error);
        Assert.Equal(0, e.Step);
        Assert.Empty(run.Logs);
    }
}
