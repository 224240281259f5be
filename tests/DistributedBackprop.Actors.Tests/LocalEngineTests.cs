using DistributedBackprop.Actors;
using DistributedBackprop.Core;
using DistributedBackprop.Data;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors.Tests;

/// <summary>
/// Whole in-process trainings with every message crossing the wire format: the same parameters as the
/// single-process loop whatever the number of workers, and whatever the injected faults.
/// </summary>
public class LocalEngineTests
{
    private const string SerializeAll = "akka.actor.serialize-messages = on";

    internal static TrainingSettings Settings(long steps = 12, Optimizer? optimizer = null) =>
        new(new Objective(Sequential.Mlp(1, [8, 8], 1, "tanh"), LossKind.Mse), optimizer ?? new Sgd(0.05, Momentum: 0.9),
            new Batches(60, 40, Shuffle: true, Seed: 3), steps, MicroShard: 7, Seed: 3);

    internal static readonly Dataset Data = NotebookRegression.Create(60, 3);

    private static string Single(TrainingSettings s) => new Trainer(s, Data).Run(TrainingState.Start(s), s.Steps).Parameters.Hash();

    private static TrainingState Local(TrainingSettings s, int workers, FaultPlan? faults = null, CheckpointPolicy? checkpoint = null, TrainingState? from = null, long? until = null)
    {
        using var engine = new LocalEngine(s, Data, workers, checkpoint, faults, SerializeAll);
        return engine.Run(from ?? TrainingState.Start(s), until ?? s.Steps);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(8)]
    public void Any_number_of_workers_ends_with_the_single_process_parameters(int workers)
    {
        var s = Settings();
        var state = Local(s, workers);
        Assert.Equal(s.Steps, state.Step);
        Assert.Equal(Single(s), state.Parameters.Hash());
    }

    [Fact]
    public void The_optimizer_state_comes_back_so_a_run_can_go_on_in_parts()
    {
        var s = Settings(optimizer: new Adam(0.01));
        var half = Local(s, 2, until: 5);
        Assert.Equal(5, half.Optimizer.Step);
        var rest = Local(s, 3, from: half);
        Assert.Equal(Single(s), rest.Parameters.Hash());
    }

    private sealed class StopWorker(int worker, long step) : FaultPlan
    {
        public override int? StopWorkerAt(long s) => s == step ? worker : null;
    }

    [Fact]
    public void A_worker_stopped_mid_step_has_its_shards_done_by_the_others()
    {
        var s = Settings();
        Assert.Equal(Single(s), Local(s, 3, new StopWorker(1, step: 4)).Parameters.Hash());
    }

    private sealed class Faulty(Func<long, int, int, Fault> onShard, Func<long, int, int, Fault> onGradient) : FaultPlan
    {
        public override Fault OnShard(long step, int shard, int attempt) => onShard(step, shard, attempt);
        public override Fault OnGradient(long step, int shard, int attempt) => onGradient(step, shard, attempt);
    }

    public static TheoryData<string> FaultKinds => new(["duplicate shards", "duplicate gradients", "delayed shards", "dropped shard", "dropped gradient"]);

    [Theory]
    [MemberData(nameof(FaultKinds))]
    public void Duplicated_delayed_and_dropped_messages_change_nothing(string kind)
    {
        var s = Settings(steps: 6);
        Fault Never(long _, int __, int ___) => Fault.None;
        FaultPlan plan = kind switch
        {
            "duplicate shards" => new Faulty((_, shard, _) => shard % 2 == 0 ? new Fault.Duplicate() : Fault.None, Never),
            "duplicate gradients" => new Faulty(Never, (_, shard, _) => shard == 1 ? new Fault.Duplicate() : Fault.None),
            "delayed shards" => new Faulty((step, shard, _) => (step + shard) % 3 == 0 ? new Fault.Delay(TimeSpan.FromMilliseconds(30)) : Fault.None, Never),
            // A lost message is recovered by the step's resend after Coordinator.StepTimeout.
            "dropped shard" => new Faulty((step, shard, attempt) => step == 2 && shard == 4 && attempt == 0 ? new Fault.Drop() : Fault.None, Never), // two workers: nodes [0, 4) and [4, 6)
            "dropped gradient" => new Faulty(Never, (step, shard, attempt) => step == 1 && shard == 0 && attempt == 0 ? new Fault.Drop() : Fault.None),
            _ => throw new ArgumentException(kind),
        };
        Assert.Equal(Single(s), Local(s, 2, plan).Parameters.Hash());
    }

    [Fact]
    public void A_run_killed_after_a_checkpoint_resumes_to_the_same_parameters()
    {
        var s = Settings(steps: 10);
        var dir = Directory.CreateTempSubdirectory("dbp-resume-").FullName;
        try
        {
            var policy = new CheckpointPolicy(dir, Every: 3);
            Local(s, 2, checkpoint: policy, until: 5); // a run that stopped at step 5: checkpoints at 3 and at its end
            var resumed = policy.Load(s)!;
            Assert.Equal(5, resumed.Step);
            Assert.Equal(Single(s), Local(s, 2, checkpoint: policy, from: resumed).Parameters.Hash());
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void A_non_finite_gradient_stops_the_run_naming_the_step_and_keeps_the_checkpoint()
    {
        var s = Settings(steps: 50, optimizer: new Sgd(1e9));
        var dir = Directory.CreateTempSubdirectory("dbp-nan-").FullName;
        try
        {
            var policy = new CheckpointPolicy(dir, Every: 1);
            var e = Assert.Throws<TrainingDivergedException>(() => Local(s, 2, checkpoint: policy));
            Assert.Contains($"step {e.Step}", e.Message);
            var last = policy.Load(s)!;
            Assert.Equal(e.Step, last.Step);
            Assert.All(last.Parameters.SelectMany(p => p.Value.ToArray()), v => Assert.True(float.IsFinite(v)));
        }
        finally { Directory.Delete(dir, true); }
    }
}

/// <summary>The whole process's allocations are counted, so nothing else may run beside it.</summary>
[CollectionDefinition(nameof(AllocationTests), DisableParallelization = true)]
public sealed class AllocationTests;

[Collection(nameof(AllocationTests))]
public class SteadyStateAllocationTests
{
    /// <summary>With an audit too: the opinions not passed to the server and the snapshots dropped go back to the pool.</summary>
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(1.0)]
    public void A_step_in_the_steady_state_allocates_no_gradient_or_parameter_buffer(double audit)
    {
        // Fashion-MNIST's shapes: a gradient is 814 kB. Two workers, four micro-shards a step, as the default does.
        var rng = new Rng(1);
        var pixels = Enumerable.Range(0, 512 * 784).Select(_ => (byte)rng.NextInt(256)).ToArray();
        var labels = Enumerable.Range(0, 512).Select(_ => rng.NextInt(10)).ToArray();
        var data = Dataset.Classification(pixels, 255f, [512, 784], labels, 10);
        var s = new TrainingSettings(new Objective(Sequential.Mlp(784, [256], 10, "relu"), LossKind.CrossEntropy), new Sgd(0.1, Momentum: 0.9),
            new Batches(512, 256, Shuffle: true, Seed: 1), Steps: 60, MicroShard: 64, Seed: 1);
        long Allocated(long steps)
        {
            using var engine = new LocalEngine(s, data, workers: 2, audit: audit);
            long before = GC.GetTotalAllocatedBytes(precise: true);
            engine.Run(TrainingState.Start(s), steps);
            return GC.GetTotalAllocatedBytes(precise: true) - before;
        }
        Allocated(2); // compile everything once
        // Both runs take their first three snapshots (steps 0, 10, 20: none is dropped before the third), so
        // the difference is the steady state's: from then on each snapshot is copied into the one dropped.
        long perStep = (Allocated(60) - Allocated(30)) / 30;
        Assert.True(perStep < 85_000, $"{perStep} bytes a step");
    }
}

/// <summary>Dropout's masks are bound by each worker for its own shards: the plain loop's bits for any number of workers.</summary>
public class DropoutEngineTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Workers_draw_the_masks_the_plain_loop_draws(int workers)
    {
        var model = ModelSpec.Build(ModelSpec.Parse("linear:16,relu,dropout:0.3,linear:16,gelu,dropout:0.5,linear"), 1, 1);
        var s = new TrainingSettings(new Objective(model, LossKind.Mse) { Seed = 4 }, new Adam(0.01), new Batches(60, 40, Shuffle: true, Seed: 4), 10, MicroShard: 7, Seed: 4);
        var data = NotebookRegression.Create(60, 4);
        var plain = new Trainer(s, data).Run(TrainingState.Start(s), s.Steps).Parameters.Hash();
        using var engine = new LocalEngine(s, data, workers, hoconOverrides: "akka.actor.serialize-messages = on");
        Assert.Equal(plain, engine.Run(TrainingState.Start(s), s.Steps).Parameters.Hash());
    }
}
