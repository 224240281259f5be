using DistributedBackprop.Core;
using DistributedBackprop.Nn;
using static DistributedBackprop.Core.Expr;

namespace DistributedBackprop.Nn.Tests;

/// <summary>Dropout masks are a pure function of (seed, step, example, layer): the same bits in any shard on any worker.</summary>
public class DropoutTests
{
    private static readonly int[] Batch = [17, 3, 99, 4, 250, 8, 61, 0];

    [Fact]
    public void The_same_examples_get_the_same_mask_bits_and_other_keys_other_bits()
    {
        var a = Dropout.Mask<float>("drop", 0.5, [32], Batch, step: 7, seed: 1);
        Assert.Equal(a.ToArray(), Dropout.Mask<float>("drop", 0.5, [32], Batch, step: 7, seed: 1).ToArray());
        Assert.Equal([Batch.Length, 32], a.Shape.ToArray());
        Assert.NotEqual(a.ToArray(), Dropout.Mask<float>("drop", 0.5, [32], Batch, step: 8, seed: 1).ToArray());
        Assert.NotEqual(a.ToArray(), Dropout.Mask<float>("drop", 0.5, [32], Batch, step: 7, seed: 2).ToArray());
        Assert.NotEqual(a.ToArray(), Dropout.Mask<float>("drop2", 0.5, [32], Batch, step: 7, seed: 1).ToArray());
        Assert.All(a.ToArray(), v => Assert.True(v == 0f || v == 2f)); // kept elements scaled by 1/(1-p)
    }

    [Fact]
    public void A_shards_mask_is_the_rows_of_the_whole_batchs_mask()
    {
        var whole = Dropout.Mask<float>("drop", 0.3, [4, 5], Batch, step: 2, seed: 9).ToArray();
        foreach (var (start, length) in new[] { (0, 3), (3, 4), (7, 1) })
        {
            var shard = Dropout.Mask<float>("drop", 0.3, [4, 5], Batch.AsSpan(start, length).ToArray(), step: 2, seed: 9).ToArray();
            Assert.Equal(whole.AsSpan(start * 20, length * 20).ToArray(), shard);
        }
        // ...and in whatever order the examples come.
        var reversed = Dropout.Mask<float>("drop", 0.3, [4, 5], Batch.Reverse().ToArray(), step: 2, seed: 9).ToArray();
        Assert.Equal(whole.AsSpan(0, 20).ToArray(), reversed.AsSpan((Batch.Length - 1) * 20, 20).ToArray());
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.5)]
    [InlineData(0.8)]
    public void The_fraction_dropped_is_near_p_on_a_large_draw(double p)
    {
        var mask = Dropout.Mask<double>("drop", p, [100], Enumerable.Range(0, 1000).ToArray(), step: 1, seed: 4).ToArray();
        double dropped = mask.Count(v => v == 0) / (double)mask.Length;
        double sigma = Math.Sqrt(p * (1 - p) / mask.Length);
        Assert.InRange(dropped, p - 5 * sigma, p + 5 * sigma);
        Assert.Equal(1.0, mask.Average(), 0.03); // the scale keeps the mean at 1
    }

    [Fact]
    public void The_gradient_through_dropout_is_the_mask_times_the_incoming_gradient()
    {
        var layer = new Dropout("drop", 0.4);
        var (x, g) = (Variable("x"), Variable("g", false));
        var mask = layer.Mask<double>([6], [1, 2, 3], step: 5, seed: 0);
        var incoming = Tensor<double>.FromArray(Enumerable.Range(0, 18).Select(i => i - 8.5).ToArray(), 3, 6);
        var at = new Dictionary<string, Tensor<double>> { ["x"] = Tensor<double>.Filled(2, 3, 6), ["g"] = incoming, [layer.MaskVariable.Name] = mask };
        var result = Backprop.Gradients(Sum(layer.Forward(x) * g), at);
        Assert.Equal(mask.ToArray().Zip(incoming.ToArray(), (m, v) => m * v), result.Of(x)!.ToArray());
        Assert.Null(result.Of(layer.MaskVariable)); // the mask is data
    }

    [Fact]
    public void Evaluation_mode_is_the_identity_and_p_zero_needs_no_mask()
    {
        var model = new Sequential(new Linear("fc", 2, 3), new Dropout("drop", 0.5));
        var x = Variable("x");
        static IEnumerable<string> Reads(Expr e) => Graph.TopologicalOrder([e]).OfType<Op.Variable>().Select(v => v.Name);
        Assert.DoesNotContain("drop.mask", Reads(model.Forward(x, training: false)));
        Assert.Contains("drop.mask", Reads(model.Forward(x, training: true)));
        Assert.Contains("drop.mask", Reads(model.Forward(x))); // PyTorch's default is training mode
        Assert.Empty(new Sequential(new Linear("fc", 2, 3), new Dropout("drop", 0)).MaskShapes(2));
    }

    [Fact]
    public void Sequential_lists_its_mask_variables_with_the_shape_each_dropout_sees_and_builds_them()
    {
        var model = new Sequential(new Dropout("in", 0.2), new Linear("fc1", 5, 7), new ReLU("relu"), new Dropout("hidden", 0.5), new Linear("fc2", 7, 2));
        var shapes = model.MaskShapes(5);
        Assert.Equal(["in.mask", "hidden.mask"], shapes.Select(s => s.Name));
        Assert.Equal([5], shapes[0].ExampleShape);
        Assert.Equal([7], shapes[1].ExampleShape);

        int[] examples = [40, 41, 42];
        var masks = model.Masks<float>([5], examples, step: 3, seed: 11);
        Assert.Equal([3, 7], masks["hidden.mask"].Shape.ToArray());
        Assert.Equal(Dropout.Mask<float>("hidden", 0.5, [7], examples, 3, 11).ToArray(), masks["hidden.mask"].ToArray());

        // The training graph evaluates with these bindings; the evaluation graph needs none.
        var p = model.Init<float>(0).ToBindings();
        p["x"] = Tensor<float>.Filled(1f, 3, 5);
        foreach (var (name, mask) in masks) p[name] = mask;
        Assert.Equal([3, 2], Backprop.Evaluate(model.Forward(Variable("x")), p).Shape.ToArray());
        Assert.Equal([3, 2], Backprop.Evaluate(model.Forward(Variable("x"), training: false), model.Init<float>(0).ToBindings().Append(new("x", p["x"])).ToDictionary()).Shape.ToArray());
    }

    [Fact]
    public void Dropping_everything_gives_zeros()
    {
        Assert.All(Dropout.Mask<float>("d", 1, [10], [0, 1], 1, 0).ToArray(), v => Assert.Equal(0f, v));
        Assert.All(Dropout.Mask<float>("d", 0, [10], [0, 1], 1, 0).ToArray(), v => Assert.Equal(1f, v));
    }
}
