using DistributedBackprop.Core;
using DistributedBackprop.Nn;
using static DistributedBackprop.Core.Expr;

namespace DistributedBackprop.Nn.Tests;

public class LossAndOptimizerTests
{
    private static readonly Dictionary<string, Optimizer> Optimizers = new()
    {
        ["sgd"] = new Sgd(0.1),
        ["sgd_weight_decay"] = new Sgd(0.1, WeightDecay: 0.01),
        ["momentum"] = new Sgd(0.1, Momentum: 0.9),
        ["momentum_weight_decay"] = new Sgd(0.1, Momentum: 0.9, WeightDecay: 0.01),
        ["nesterov"] = new Sgd(0.1, Momentum: 0.9, Nesterov: true, WeightDecay: 0.01),
        ["adam"] = new Adam(0.01),
        ["adam_weight_decay"] = new Adam(0.01, WeightDecay: 0.01),
        ["adamw"] = new AdamW(),
        ["adamw_custom"] = new AdamW(0.01, Beta1: 0.8, Beta2: 0.99, WeightDecay: 0.1),
        ["rmsprop"] = new RMSprop(),
        ["rmsprop_momentum"] = new RMSprop(0.01, Momentum: 0.9),
        ["rmsprop_weight_decay"] = new RMSprop(0.02, Alpha: 0.9, WeightDecay: 0.01, Momentum: 0.5),
    };

    public static TheoryData<string> OptimizerNames => new(Optimizers.Keys);

    [Theory]
    [MemberData(nameof(OptimizerNames))]
    public void Three_steps_match_pytorch(string name)
    {
        var opt = Optimizers[name];
        var p = new Parameters<double>([("w", Reference.Tensor(Reference.Root.GetProperty("optimizer_start")))]);
        var state = opt.Init(p);
        foreach (var g in Reference.Root.GetProperty("optimizer_grads").EnumerateArray())
            (p, state) = opt.Step(p, new Parameters<double>([("w", Reference.Tensor(g))]), state);
        Assert.Equal(3, state.Step);
        Reference.AssertClose(Reference.Tensor(Reference.Root.GetProperty("optimizer_steps").GetProperty(name)), p["w"], 1e-12, name);
    }

    [Theory]
    [MemberData(nameof(OptimizerNames))]
    public void A_step_from_sums_is_the_step_from_their_mean_and_says_when_a_sum_is_not_finite(string name)
    {
        var opt = Optimizers[name];
        var p = new Parameters<double>([("w", Tensor<double>.Vector(1, -2, 3, 0.5, 7, -1, 2, 4, 9))]); // a vector and a tail
        double[] sums = [4, -8, 2, 0, 1, 6, -3, 5, 12];
        var fromMean = opt.Step(p, new Parameters<double>([("w", Tensor<double>.Vector(sums.Select(x => x * 0.25).ToArray()))]), opt.Init(p));
        var fromSums = opt.Step(p, _ => sums, 4, opt.Init(p));
        Assert.NotNull(fromSums);
        Assert.Equal(fromMean.Parameters["w"].ToArray(), fromSums.Value.Parameters["w"].ToArray());

        foreach (int at in new[] { 2, 8 })
            foreach (double bad in new[] { double.NaN, double.PositiveInfinity })
            {
                var broken = (double[])sums.Clone();
                broken[at] = bad;
                Assert.Null(opt.Step(p, _ => broken, 4, opt.Init(p)));
                var own = p.Map((_, t) => Tensor<double>.FromArray(t.Data, [.. t.Shape]));
                Assert.Null(opt.StepInPlace(own, _ => broken, 4, opt.Init(own)));
            }
    }

    [Theory]
    [MemberData(nameof(OptimizerNames))]
    public void A_step_from_two_halves_of_the_sums_is_the_step_from_their_sum_bit_for_bit(string name)
    {
        foreach (var opt in new[] { Optimizers[name], Optimizers[name] with { MaxGradNorm = 0.5 } })
            foreach (int n in new[] { 1, 9, 37, 1000 }) // no whole vector, a vector and a tail, several, many
            {
                var rng = new Rng((ulong)n);
                float[] Values() => Enumerable.Range(0, n).Select(_ => (float)(rng.Uniform(-1, 1) * Math.Pow(10, rng.NextInt(4) - 2))).ToArray();
                var (start, a, b) = (Values(), Values(), Values());
                var p = new Parameters<float>([("w", Tensor<float>.FromArray(start, [n]))]);
                var sum = a.Zip(b, (x, y) => x + y).ToArray();
                var (next, fused) = (p.Map((_, t) => Tensor<float>.Zeros([.. t.Shape])), p.Map((_, t) => Tensor<float>.Zeros([.. t.Shape])));
                var (s1, s2) = (opt.Init(p), opt.Init(p));
                for (int step = 0; step < 3; step++) // the slots too: momentum and moments carry the sum
                {
                    s1 = opt.StepInto(p, next, _ => sum, 16, s1)!;
                    s2 = opt.StepInto(p, fused, _ => a, 16, s2, _ => b)!;
                    Assert.Equal(next["w"].ToArray(), fused["w"].ToArray());
                    Assert.Equal(s1.Slots.Select(t => t.Value.ToArray()), s2.Slots.Select(t => t.Value.ToArray()));
                }
                b[n - 1] = float.NaN;
                Assert.Null(opt.StepInto(p, fused, _ => a, 16, opt.Init(p), _ => b));
            }
    }

    [Fact]
    public void A_step_leaves_its_inputs_unchanged()
    {
        var p = new Parameters<float>([("w", Tensor<float>.Vector(1f, 2f))]);
        var g = new Parameters<float>([("w", Tensor<float>.Vector(0.5f, 0.5f))]);
        var opt = new Sgd(0.1, Momentum: 0.9);
        var s = opt.Init(p);
        var (p2, s2) = opt.Step(p, g, s);
        Assert.Equal([1f, 2f], p["w"].ToArray());
        Assert.Equal([0f, 0f], s.Slots["w#momentum"].ToArray());
        Assert.Equal([0.95f, 1.95f], p2["w"].ToArray());
        Assert.Equal([0.5f, 0.5f], s2.Slots["w#momentum"].ToArray());
    }

    [Fact]
    public void A_cosine_schedule_anneals_the_learning_rate_to_zero_over_its_steps()
    {
        var opt = new Sgd(0.5) { CosineSteps = 4 };
        var p = new Parameters<double>([("w", Tensor<double>.Scalar(0))]);
        var g = new Parameters<double>([("w", Tensor<double>.Scalar(1))]);
        var state = opt.Init(p);
        var taken = new List<double>();
        for (int i = 0; i < 6; i++)
        {
            double before = p["w"].Item();
            (p, state) = opt.Step(p, g, state);
            taken.Add(before - p["w"].Item());
        }
        var expected = Enumerable.Range(1, 6).Select(t => 0.5 * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(t - 1, 4) / 4))).ToArray();
        for (int i = 0; i < 6; i++) Assert.Equal(expected[i], taken[i], 12);
        Assert.Equal(0.5, taken[0], 12);
        Assert.Equal(0, taken[5], 12);
    }

    [Fact]
    public void Losses_match_pytorch()
    {
        var l = Reference.Root.GetProperty("losses");
        var classes = l.GetProperty("classes").EnumerateArray().Select(c => c.GetInt32()).ToArray();
        var at = new Dictionary<string, Tensor<double>>
        {
            ["logits"] = Reference.Tensor(l.GetProperty("logits")),
            ["onehot"] = Loss.OneHot<double>(classes, 4),
            ["pred"] = Reference.Tensor(l.GetProperty("pred")),
            ["target"] = Reference.Tensor(l.GetProperty("target")),
        };
        var (logits, onehot, pred, target) = (Variable("logits"), Variable("onehot"), Variable("pred"), Variable("target"));
        Assert.Equal(l.GetProperty("cross_entropy").GetDouble(), Backprop.Evaluate(Loss.CrossEntropy(logits, onehot), at).Item(), 1e-12);
        Assert.Equal(l.GetProperty("mse").GetDouble(), Backprop.Evaluate(Loss.Mse(pred, target), at).Item(), 1e-12);
        // The per-example sums divided by the batch size are the means.
        Assert.Equal(l.GetProperty("cross_entropy").GetDouble(), Backprop.Evaluate(Loss.CrossEntropySum(logits, onehot), at).Item() / 6, 1e-12);
        Assert.Equal(l.GetProperty("mse").GetDouble(), Backprop.Evaluate(Loss.MseSum(pred, target), at).Item() / 5, 1e-12);
    }

    [Fact]
    public void One_hot_refuses_a_class_out_of_range() =>
        Assert.Throws<ArgumentException>(() => Loss.OneHot<float>([0, 4], 4));
}
