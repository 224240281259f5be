using DistributedBackprop.Core;
using DistributedBackprop.Nn;

namespace DistributedBackprop.Nn.Tests;

/// <summary>Gradient clipping by global norm inside the sums-and-scale interface, and learning-rate schedules, against torch.</summary>
public class ClippingAndScheduleTests
{
    private static Parameters<double> Named(string property) => Reference.Named(Reference.Root.GetProperty(property));

    public static TheoryData<string> ClippedOptimizers => new(["momentum", "adamw"]);

    private static Optimizer Clipped(string name) => name switch
    {
        "momentum" => new Sgd(0.1, Momentum: 0.9) { MaxGradNorm = 1.5 },
        "adamw" => new AdamW(0.01) { MaxGradNorm = 1.5 },
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(ClippedOptimizers))]
    public void Clipping_the_mean_of_gradient_sums_matches_clip_grad_norm_then_step(string name)
    {
        var opt = Clipped(name);
        var p = Named("clip_start");
        var state = opt.Init(p);
        foreach (var g in Reference.Root.GetProperty("clip_grads").EnumerateArray())
        {
            // The trainer hands over sums over 4 examples; clipping must see the norm of their mean.
            var sums = Reference.Named(g).Map((_, t) => Tensor<double>.FromArray(t.ToArray().Select(v => v * 4).ToArray(), [.. t.Shape]));
            (p, state) = opt.Step(p, i => sums[p[i].Name].Data, 4, state)!.Value;
        }
        var expected = Reference.Root.GetProperty("clipped").GetProperty(name).GetProperty("parameters");
        foreach (var (n, t) in p) Reference.AssertClose(Reference.Tensor(expected.GetProperty(n)), t, 1e-12, n);
    }

    [Fact]
    public void The_global_norm_is_the_square_root_of_the_sum_of_squares_over_all_parameters()
    {
        var norms = Reference.Root.GetProperty("clipped").GetProperty("momentum").GetProperty("norms").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var grads = Reference.Root.GetProperty("clip_grads").EnumerateArray().Select(Reference.Named).ToArray();
        for (int i = 0; i < grads.Length; i++)
            Assert.Equal(norms[i], Math.Sqrt(grads[i].Sum(p => Optimizer.SumOfSquares(p.Value.Data))), 12);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(19)]
    public void The_sum_of_squares_has_the_same_bits_in_float_as_its_definition(int length)
    {
        // Eight lanes in double, added pairwise, then the rest in order: written out here element by element.
        var rng = new Random(length);
        var g = Enumerable.Range(0, length).Select(_ => (float)(rng.NextDouble() * 6 - 3)).ToArray();
        var lanes = new double[8];
        int whole = length / 8 * 8;
        for (int i = 0; i < whole; i++) lanes[i % 8] += (double)g[i] * g[i];
        var l = Enumerable.Range(0, 4).Select(k => lanes[k] + lanes[k + 4]).ToArray();
        double expected = (l[0] + l[1]) + (l[2] + l[3]);
        for (int i = whole; i < length; i++) expected += (double)g[i] * g[i];
        Assert.Equal(expected, Optimizer.SumOfSquares<float>(g));
    }

    [Fact]
    public void A_clipped_step_in_place_gives_the_step_on_copies_bits()
    {
        var opt = new AdamW(0.01) { MaxGradNorm = 0.5 };
        var rng = new Random(1);
        Tensor<float> Random(params int[] shape) => Tensor<float>.FromArray(Enumerable.Range(0, Shapes.Size(shape)).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(), shape);
        var p = new Parameters<float>([("w", Random(13, 7)), ("b", Random(13))]);
        var sums = new[] { Random(13, 7), Random(13) };
        var copies = opt.Step(p, i => sums[i].Data, 32, opt.Init(p))!.Value;
        var own = p.Map((_, t) => Tensor<float>.FromArray(t.Data, [.. t.Shape]));
        var inPlace = opt.StepInPlace(own, i => sums[i].Data, 32, opt.Init(own))!;
        Assert.Equal(copies.Parameters.Hash(), own.Hash());
        Assert.Equal(copies.State.Slots.Hash(), inPlace.Slots.Hash());
        Assert.NotEqual(p.Hash(), own.Hash());
    }

    [Fact]
    public void Clipping_that_is_off_or_not_reached_changes_no_bit()
    {
        var p = new Parameters<float>([("w", Tensor<float>.Vector(1f, -2f, 3f))]);
        float[] sums = [0.3f, -0.2f, 0.1f];
        var plain = new Adam(0.01).Step(p, _ => sums, 3, new Adam(0.01).Init(p))!.Value.Parameters;
        var loose = new Adam(0.01) { MaxGradNorm = 10 }.Step(p, _ => sums, 3, new Adam(0.01).Init(p))!.Value.Parameters;
        Assert.Equal(plain.Hash(), loose.Hash());
    }

    [Theory]
    [InlineData("step_3_0.5", 12)]
    [InlineData("cosine_8", 9)]
    [InlineData("warmup_3_cosine_10", 11)]
    public void Schedules_give_torchs_rates_step_by_step(string name, int span)
    {
        Schedule schedule = name switch
        {
            "step_3_0.5" => new Schedule.StepDecay(3, 0.5),
            "cosine_8" => new Schedule.Cosine(8),
            "warmup_3_cosine_10" => new Schedule.WarmupCosine(3, 10),
            _ => throw new ArgumentException(name),
        };
        var rates = Reference.Root.GetProperty("schedules").GetProperty(name).EnumerateArray().Select(e => e.GetDouble()).ToArray();
        // Within the schedule's span; past it torch's cosine rises again (it is periodic), ours stays at 0.
        for (int s = 1; s <= span; s++) Assert.Equal(rates[s - 1], schedule.Rate(0.5, s), 14);
        for (int s = span + 1; s <= rates.Length; s++) Assert.Equal(name.StartsWith("step") ? rates[s - 1] : 0, schedule.Rate(0.5, s), 14);
    }

    [Fact]
    public void Adamw_under_warm_up_then_cosine_matches_torch()
    {
        var opt = new AdamW(0.01, WeightDecay: 0.1) { Schedule = new Schedule.WarmupCosine(2, 5) };
        var p = new Parameters<double>([("w", Reference.Tensor(Reference.Root.GetProperty("optimizer_start")))]);
        var grads = Reference.Root.GetProperty("optimizer_grads").EnumerateArray().Select(Reference.Tensor).ToArray();
        var state = opt.Init(p);
        for (int i = 0; i < 5; i++) (p, state) = opt.Step(p, new Parameters<double>([("w", grads[i % 3])]), state);
        Reference.AssertClose(Reference.Tensor(Reference.Root.GetProperty("scheduled").GetProperty("adamw_warmup_2_cosine_5")), p["w"], 1e-12, "w");
    }

    [Fact]
    public void Cosine_steps_is_the_cosine_schedule_and_a_warm_up_of_zero_is_the_cosine_bit_for_bit()
    {
        Assert.Equal(new Schedule.Cosine(6), new Sgd(0.1) { CosineSteps = 6 }.Schedule);
        Assert.Equal(6, new Sgd(0.1) { Schedule = new Schedule.Cosine(6) }.CosineSteps);
        Assert.Null((new Sgd(0.1) { CosineSteps = 6 } with { CosineSteps = 0 }).Schedule);
        var step = new Schedule.StepDecay(2);
        Assert.Equal(step, (new Sgd(0.1) { Schedule = step } with { CosineSteps = 0 }).Schedule); // 0 removes a cosine only
        for (int s = 1; s <= 8; s++) Assert.Equal(new Schedule.Cosine(6).Rate(0.3, s), new Schedule.WarmupCosine(0, 6).Rate(0.3, s));
    }

    [Fact]
    public void Existing_settings_print_as_before_so_checkpoint_fingerprints_stay()
    {
        // What the records printed before schedules and clipping existed (checkpoints hash this text).
        Assert.Equal("Sgd { Kind = sgd, SlotNames = System.String[], CosineSteps = 0, LearningRate = 0.05, Momentum = 0, Nesterov = False, WeightDecay = 0 }", new Sgd(0.05).ToString());
        Assert.Equal("Adam { Kind = adam, SlotNames = <>z__ReadOnlyArray`1[System.String], CosineSteps = 10, LearningRate = 0.001, Beta1 = 0.9, Beta2 = 0.999, Epsilon = 1E-08, WeightDecay = 0 }",
            new Adam(0.001) { CosineSteps = 10 }.ToString());
        Assert.Contains("Schedule = StepDecay { StepSize = 3, Gamma = 0.5 }", new Sgd(0.1) { Schedule = new Schedule.StepDecay(3, 0.5) }.ToString());
        Assert.Contains("MaxGradNorm = 1.5", new Sgd(0.1) { MaxGradNorm = 1.5 }.ToString());
    }
}
