using DistributedBackprop.Core;
using DistributedBackprop.Nn;
using static DistributedBackprop.Core.Expr;

namespace DistributedBackprop.Nn.Tests;

/// <summary>L1, Huber, binary cross-entropy on logits and cross-entropy from class indices against PyTorch, as means and as per-example sums.</summary>
public class LossTests
{
    private static readonly Op.Variable Pred = Variable("pred"), Target = Variable("target", false);

    public static TheoryData<string> Names => new(["l1", "huber", "huber_0.5", "bce_with_logits", "cross_entropy_classes"]);

    private static (Expr Mean, Expr Sum) Losses(string name) => name switch
    {
        "l1" => (Loss.L1(Pred, Target), Loss.L1Sum(Pred, Target)),
        "huber" => (Loss.Huber(Pred, Target), Loss.HuberSum(Pred, Target)),
        "huber_0.5" => (Loss.Huber(Pred, Target, 0.5), Loss.HuberSum(Pred, Target, 0.5)),
        "bce_with_logits" => (Loss.BceWithLogits(Pred, Target), Loss.BceWithLogitsSum(Pred, Target)),
        "cross_entropy_classes" => (Loss.CrossEntropyFromClasses(Pred, Target), Loss.CrossEntropyFromClassesSum(Pred, Target)),
        _ => throw new ArgumentException(name),
    };

    private static Dictionary<string, Tensor<double>> At(string name)
    {
        var c = Reference.Root.GetProperty("new_losses").GetProperty(name);
        return new() { ["pred"] = Reference.Tensor(c.GetProperty("pred")), ["target"] = Reference.Tensor(c.GetProperty("target")) };
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void The_mean_and_its_gradient_match_pytorch(string name)
    {
        var c = Reference.Root.GetProperty("new_losses").GetProperty(name);
        var result = Backprop.Gradients(Losses(name).Mean, At(name));
        Assert.Equal(c.GetProperty("value").GetDouble(), result.Value().Item(), 1e-12);
        Reference.AssertClose(Reference.Tensor(c.GetProperty("grad")), result.Of(Pred)!, 1e-9, name);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void The_per_example_sum_over_the_batch_size_is_the_mean_and_passes_gradcheck(string name)
    {
        var at = At(name);
        int batch = at["pred"].Shape[0];
        var (mean, sum) = Losses(name);
        Assert.Equal(Backprop.Evaluate(mean, at).Item(), Backprop.Evaluate(sum, at).Item() / batch, 1e-12);
        var check = GradCheck.Check(sum, at);
        Assert.True(check.Passed, $"{name}: {check.WorstRelativeError:E2}; {check.Detail}");
    }

    [Fact]
    public void Binary_cross_entropy_on_logits_is_finite_far_out_and_has_the_sigmoid_gradient_at_zero()
    {
        var at = new Dictionary<string, Tensor<double>> { ["pred"] = Tensor<double>.FromArray([0, 800, -800], 1, 3), ["target"] = Tensor<double>.FromArray([0.3, 0, 1], 1, 3) };
        var result = Backprop.Gradients(Loss.BceWithLogitsSum(Pred, Target), at);
        Assert.Equal((Math.Log(2) + 800 + 800) / 3, result.Value().Item(), 12);
        Assert.Equal([(0.5 - 0.3) / 3, 1.0 / 3, -1.0 / 3], result.Of(Pred)!.ToArray());
    }

    [Fact]
    public void Cross_entropy_from_classes_gives_the_one_hot_forms_bits()
    {
        int[] classes = [3, 0, 9, 9, 4, 1, 7];
        var rng = new Random(2);
        var logits = Tensor<float>.FromArray(Enumerable.Range(0, 70).Select(_ => (float)(rng.NextDouble() * 8 - 4)).ToArray(), 7, 10);
        var (z, y) = (Variable("z"), Variable("y", false));
        var fromClasses = Backprop.Gradients(Loss.CrossEntropyFromClassesSum(z, y), new Dictionary<string, Tensor<float>> { ["z"] = logits, ["y"] = Loss.Classes<float>(classes) });
        var fromOneHot = Backprop.Gradients(Loss.CrossEntropySum(z, y), new Dictionary<string, Tensor<float>> { ["z"] = logits, ["y"] = Loss.OneHot<float>(classes, 10) });
        Assert.Equal(fromOneHot.Value().ToArray(), fromClasses.Value().ToArray());
        Assert.Equal(fromOneHot.Of(z)!.ToArray(), fromClasses.Of(z)!.ToArray());
    }

    [Fact]
    public void Huber_refuses_a_delta_that_is_not_positive() =>
        Assert.Throws<ArgumentException>(() => Loss.Huber(Pred, Target, 0));
}
