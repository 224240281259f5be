using DistributedBackprop.Core;
using DistributedBackprop.Data;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;

namespace DistributedBackprop.Training.Tests;

public class TrainerTests
{
    internal static TrainingSettings Regression(long steps, int microShard = 64, Optimizer? optimizer = null, int seed = 0, int samples = 200) =>
        new(new Objective(Sequential.Mlp(1, [16, 16], 1, "tanh"), LossKind.Mse), optimizer ?? new Sgd(0.05),
            new Batches(samples, samples, Shuffle: false, seed), steps, microShard, seed);

    [Fact]
    public void The_loss_goes_down_on_the_notebook_regression()
    {
        var s = Regression(300, optimizer: new Adam(0.01));
        var losses = new List<double>();
        new Trainer(s, NotebookRegression.Create(200, 0)).Run(TrainingState.Start(s), s.Steps, log => losses.Add(log.Loss));
        Assert.Equal(300, losses.Count);
        Assert.True(losses[^1] < 0.5 * losses[0], $"loss {losses[0]} -> {losses[^1]}");
    }

    [Fact]
    public void Equal_settings_give_equal_parameters_bit_for_bit()
    {
        var s = Regression(50);
        var data = NotebookRegression.Create(200, 0);
        var a = new Trainer(s, data).Run(TrainingState.Start(s), s.Steps);
        var b = new Trainer(s, data).Run(TrainingState.Start(s), s.Steps);
        Assert.Equal(a.Parameters.Hash(), b.Parameters.Hash());
        var other = Regression(50, seed: 1);
        Assert.NotEqual(a.Parameters.Hash(), new Trainer(other, NotebookRegression.Create(200, 1)).Run(TrainingState.Start(other), 50).Parameters.Hash());
    }

    [Fact]
    public void Stopping_and_going_on_from_the_state_is_the_same_as_not_stopping()
    {
        var s = Regression(40, optimizer: new Adam(0.01));
        var data = NotebookRegression.Create(200, 0);
        var straight = new Trainer(s, data).Run(TrainingState.Start(s), 40);
        var half = new Trainer(s, data).Run(TrainingState.Start(s), 17);
        var rest = new Trainer(s, data).Run(half, 40);
        Assert.Equal(straight.Parameters.Hash(), rest.Parameters.Hash());
    }

    [Fact]
    public void A_step_equals_one_gradient_descent_step_on_the_full_batch_mean_loss()
    {
        var s = Regression(1, microShard: 48);
        var data = NotebookRegression.Create(200, 0);
        var start = TrainingState.Start(s);
        var after = new Trainer(s, data).Run(start, 1);
        // The same step by the pure engine in double: mean MSE over all 200 examples, one SGD update.
        var bindings = start.Parameters.Cast<double>().ToBindings();
        bindings["x"] = data.Inputs.Cast<double>();
        bindings["y"] = data.Targets.Cast<double>();
        var grads = Backprop.Gradients(Loss.Mse(s.Objective.Prediction, s.Objective.Y), bindings);
        foreach (var spec in s.Objective.Model.Parameters)
        {
            var expected = start.Parameters[spec.Name].Cast<double>().ToArray().Zip(grads.Of(spec.Variable)!.ToArray(), (p, g) => p - 0.05 * g).ToArray();
            var actual = after.Parameters[spec.Name].ToArray();
            for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 5);
        }
    }

    [Theory]
    [InlineData(64)] // four micro-shards, summed
    [InlineData(200)] // one: the plan's own gradients
    public void A_diverging_run_stops_with_the_step_and_applies_nothing(int microShard)
    {
        var s = Regression(100, microShard, optimizer: new Sgd(1e6));
        var data = NotebookRegression.Create(200, 0);
        var checkpoints = Directory.CreateTempSubdirectory("dbp-diverge-").FullName;
        try
        {
            var policy = new CheckpointPolicy(checkpoints, Every: 1);
            var e = Assert.Throws<TrainingDivergedException>(() => new Trainer(s, data, policy).Run(TrainingState.Start(s), 100));
            Assert.Contains($"step {e.Step}", e.Message);
            // The last checkpoint is the state before the bad step, whole and finite.
            var last = policy.Load(s)!;
            Assert.Equal(e.Step, last.Step);
            Assert.All(last.Parameters.SelectMany(p => p.Value.ToArray()), v => Assert.True(float.IsFinite(v)));
        }
        finally { Directory.Delete(checkpoints, true); }
    }
}
