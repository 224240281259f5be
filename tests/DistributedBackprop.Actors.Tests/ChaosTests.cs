using DistributedBackprop.Actors;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors.Tests;

/// <summary>The fault harness's language, and a corrupting worker caught by the audit.</summary>
public class ChaosTests
{
    [Fact]
    public void A_plan_reads_as_written()
    {
        var plan = ChaosPlan.Parse("stop worker 1 at step 10; drop shard 2 of step 3\ndelay gradient any of step 5 by 20ms; duplicate shard 0 of step any every time;\ncorrupt worker 2 from step 20 x1000");
        Assert.Equal(1, plan.StopWorkerAt(10));
        Assert.Null(plan.StopWorkerAt(0));
        Assert.IsType<Fault.Drop>(plan.OnShard(3, 2, 0));
        Assert.Equal(Fault.None, plan.OnShard(3, 2, 1)); // only its first sending
        Assert.Equal(new Fault.Delay(TimeSpan.FromMilliseconds(20)), plan.OnGradient(5, 7, 0));
        Assert.IsType<Fault.Duplicate>(plan.OnShard(99, 0, 4));
        Assert.Null(plan.Corrupts(2, 19));
        Assert.Equal(new Corruption(1000, false), plan.Corrupts(2, 20));
        Assert.Equal(new Corruption(1, true), ChaosPlan.Parse("corrupt worker 0 from step 1 flip bits").Corrupts(0, 5));
    }

    [Theory]
    [InlineData("stop worker one at step 3")]
    [InlineData("drop shard 2")]
    [InlineData("delay shard 1 of step 2")]             // a delay needs its time
    [InlineData("drop shard 1 of step 2 by 5ms")]       // and only a delay has one
    [InlineData("corrupt worker 1 from step 2 xNaN")]
    [InlineData("stop worker 99999999999 at step 1")]
    public void A_statement_that_is_not_the_language_is_refused_naming_it(string text) =>
        Assert.Contains("--chaos:", Assert.Throws<ChaosPlanException>(() => ChaosPlan.Parse(text)).Message);

    private static string Run(int workers, string plan, double audit = 0)
    {
        var s = LocalEngineTests.Settings(steps: 12);
        using var engine = new LocalEngine(s, LocalEngineTests.Data, workers, faults: ChaosPlan.Parse(plan), resendAfter: TimeSpan.FromMilliseconds(200), audit: audit);
        return engine.Run(TrainingState.Start(s), s.Steps).Parameters.Hash();
    }

    private static string Clean() => Run(3, "");

    [Fact]
    public void A_worker_corrupting_its_gradients_spoils_an_unaudited_run_and_an_audited_one_ends_clean()
    {
        Assert.NotEqual(Clean(), Run(3, "corrupt worker 1 from step 4 x1000"));          // the harness does corrupt
        Assert.Equal(Clean(), Run(3, "corrupt worker 1 from step 4 x1000", audit: 1));   // every node checked: caught, excluded
        Assert.Equal(Clean(), Run(3, "corrupt worker 2 from step 0 flip bits", audit: 1));
    }

    [Fact]
    public void A_worker_caught_by_a_partial_audit_is_replayed_out_and_the_run_ends_with_the_clean_runs_hash_and_losses()
    {
        const double audit = 0.1;
        var s = LocalEngineTests.Settings(steps: 30);
        // Step 0 is not audited: worker 1's first gradient goes in unchecked.
        Assert.False(GradientChecks.Audited(s.Seed, 0, audit));
        var clean = new List<StepLog>();
        var plain = new Trainer(s, LocalEngineTests.Data).Run(TrainingState.Start(s), s.Steps, clean.Add);
        var logs = new List<StepLog>();
        using var engine = new LocalEngine(s, LocalEngineTests.Data, 3, faults: ChaosPlan.Parse("corrupt worker 1 from step 4 x1000"),
            resendAfter: TimeSpan.FromMilliseconds(200), audit: audit);
        var final = engine.Run(TrainingState.Start(s), s.Steps, logs.Add);
        Assert.Equal(plain.Parameters.Hash(), final.Parameters.Hash());
        Assert.Equal(plain.Optimizer.Slots.Hash(), final.Optimizer.Slots.Hash());
        var replay = Assert.Single(logs, l => l.Replay is not null).Replay!;
        Assert.Equal(0, replay.FromStep); // before worker 1's first, unchecked, gradient
        // From the replay on, the log is the clean run's, step for step, to the bit.
        Assert.Equal(clean.Select(l => (l.Step, l.Loss)), logs.SkipWhile(l => l.Replay is null).Select(l => (l.Step, l.Loss)));
    }

    [Fact]
    public void An_audit_of_an_undisturbed_run_changes_nothing() => Assert.Equal(Clean(), Run(2, "", audit: 0.5));

    /// <summary>Loses every audited gradient of step 3 on its way to the server, once: an audited node passes on its second sending.</summary>
    private sealed class LoseAuditedOnce : FaultPlan
    {
        public override Fault OnGradient(long step, int shard, int attempt) => step == 3 && attempt == 1 ? new Fault.Drop() : Fault.None;
    }

    [Fact]
    public void An_audited_gradient_lost_on_its_way_to_the_server_is_audited_again_after_the_resend()
    {
        var s = LocalEngineTests.Settings(steps: 6);
        using var engine = new LocalEngine(s, LocalEngineTests.Data, 3, faults: new LoseAuditedOnce(), resendAfter: TimeSpan.FromMilliseconds(100), audit: 1);
        var plain = new Trainer(s, LocalEngineTests.Data).Run(TrainingState.Start(s), s.Steps);
        Assert.Equal(plain.Parameters.Hash(), engine.Run(TrainingState.Start(s), s.Steps).Parameters.Hash());
    }
}
