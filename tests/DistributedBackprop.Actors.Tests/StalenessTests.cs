using DistributedBackprop.Core;
using DistributedBackprop.Data;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors.Tests;

/// <summary>Staleness S: each step's gradients come from the parameters of S steps before, the same in every engine.</summary>
public class StalenessTests
{
    private static TrainingSettings Settings(int staleness, long steps = 12) => LocalEngineTests.Settings(steps) with { Staleness = staleness };

    private static string Plain(TrainingSettings s) => new Trainer(s, LocalEngineTests.Data).Run(TrainingState.Start(s), s.Steps).Parameters.Hash();

    private static string Actors(TrainingSettings s, int workers, FaultPlan? faults = null)
    {
        using var engine = new LocalEngine(s, LocalEngineTests.Data, workers, faults: faults, hoconOverrides: "akka.actor.serialize-messages = on");
        return engine.Run(TrainingState.Start(s), s.Steps).Parameters.Hash();
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 2)]
    [InlineData(1, 3)]
    [InlineData(2, 2)]
    [InlineData(4, 3)]
    public void Worker_actors_end_with_the_plain_loops_parameters_for_the_same_staleness(int staleness, int workers)
    {
        var s = Settings(staleness);
        Assert.Equal(Plain(s), Actors(s, workers));
        Assert.NotEqual(Plain(Settings(0)), Plain(s)); // it changes the numbers: the engines agree on something else
    }

    private sealed class StopWorker(int worker, long step) : FaultPlan
    {
        public override int? StopWorkerAt(long s) => s == step ? worker : null;
    }

    [Fact]
    public void A_worker_stopped_mid_run_changes_nothing() =>
        Assert.Equal(Plain(Settings(2, steps: 20)), Actors(Settings(2, steps: 20), 3, new StopWorker(1, 7)));

    [Fact]
    public void The_second_step_of_a_staleness_of_one_applies_the_gradient_at_the_first_parameters()
    {
        // Plain SGD on full batches: step 1's update is then -lr times the gradient of batch 1 at the start.
        var s = new TrainingSettings(new Objective(Sequential.Mlp(1, [4], 1, "tanh"), LossKind.Mse), new Sgd(0.1),
            new Batches(60, 30, Shuffle: false, Seed: 3), 2, MicroShard: 30, Seed: 3);
        var start = TrainingState.Start(s);
        var data = LocalEngineTests.Data;
        var one = new Trainer(s, data).Run(start, 1);                                           // θ1 = θ0 - lr g(θ0, b0)
        var atStart = new Trainer(s, data).Run(start with { Step = 1 }, 2);                     // θ0 - lr g(θ0, b1)
        var stale = new Trainer(s with { Staleness = 1 }, data).Run(start, 2);                  // θ1 - lr g(θ0, b1)
        var fresh = new Trainer(s, data).Run(start, 2);                                         // θ1 - lr g(θ1, b1)
        for (int i = 0; i < stale.Parameters.Count; i++)
        {
            float[] a = one.Parameters[i].Value.ToArray(), b = start.Parameters[i].Value.ToArray(), c = atStart.Parameters[i].Value.ToArray();
            var expected = Enumerable.Range(0, a.Length).Select(k => a[k] + (c[k] - b[k]));
            Assert.Equal(expected, stale.Parameters[i].Value.ToArray(), (x, y) => Math.Abs(x - y) < 1e-6);
        }
        Assert.NotEqual(fresh.Parameters.Hash(), stale.Parameters.Hash());
    }
}
