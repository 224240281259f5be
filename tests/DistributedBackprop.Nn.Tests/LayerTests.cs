using DistributedBackprop.Core;
using DistributedBackprop.Nn;
using static DistributedBackprop.Core.Expr;

namespace DistributedBackprop.Nn.Tests;

/// <summary>LeakyReLU, GELU, Dropout and LayerNorm: printed, named, initialised and differentiated as PyTorch does.</summary>
public class LayerTests
{
    private static Sequential Mlp() => new(new Linear("fc1", 3, 6), new LayerNorm("norm", 6), new GELU("gelu"), new Dropout("drop", 0.25),
        new Linear("fc2", 6, 4), new LeakyReLU("leaky", 0.1));

    [Fact]
    public void Layers_print_like_pytorch()
    {
        var r = Reference.Root.GetProperty("reprs");
        Assert.Equal(r.GetProperty("leaky_relu").GetString(), new LeakyReLU("l").Describe());
        Assert.Equal(r.GetProperty("leaky_relu_0.2").GetString(), new LeakyReLU("l", 0.2).Describe());
        Assert.Equal(r.GetProperty("gelu").GetString(), new GELU("g").Describe());
        Assert.Equal(r.GetProperty("dropout").GetString(), new Dropout("d").Describe());
        Assert.Equal(r.GetProperty("dropout_0.1").GetString(), new Dropout("d", 0.1).Describe());
        Assert.Equal(r.GetProperty("layer_norm_4").GetString(), new LayerNorm("n", 4).Describe());
        Assert.Equal(r.GetProperty("layer_norm_2_3").GetString(), new LayerNorm("n", [2, 3], eps: 1e-6).Describe());
        Assert.Equal(r.GetProperty("layer_norm_8").GetString(), new LayerNorm("n", 8, eps: 0.001).Describe());
        Assert.Equal(Reference.Root.GetProperty("layers").GetProperty("mlp").GetProperty("repr").GetString(), Mlp().ToString());
    }

    [Fact]
    public void Numbers_print_as_python_prints_floats()
    {
        foreach (var f in Reference.Root.GetProperty("floats").EnumerateArray())
            Assert.Equal(f.GetProperty("repr").GetString(), Python.Float(f.GetProperty("value").GetDouble()));
    }

    [Fact]
    public void Layer_norm_has_pytorch_parameters_ones_and_zeros_and_leaves_the_other_layers_draws_alone()
    {
        var model = Mlp();
        var p = model.Init<float>(seed: 3);
        Assert.Equal(["fc1.weight", "fc1.bias", "norm.weight", "norm.bias", "fc2.weight", "fc2.bias"], p.Names);
        Assert.Equal([6], p["norm.weight"].Shape.ToArray());
        Assert.All(p["norm.weight"].ToArray(), w => Assert.Equal(1f, w));
        Assert.All(p["norm.bias"].ToArray(), b => Assert.Equal(0f, b));
        // Constants draw nothing: the Linear layers get what they get without the norm.
        var plain = new Sequential(new Linear("fc1", 3, 6), new GELU("gelu"), new Linear("fc2", 6, 4)).Init<float>(seed: 3);
        Assert.Equal(plain["fc2.weight"].ToArray(), p["fc2.weight"].ToArray());
        Assert.Equal([2, 3], new LayerNorm("n", [2, 3]).Bias.Shape);
    }

    [Theory]
    [InlineData("mlp")]
    [InlineData("norm_2_3")]
    public void A_model_with_the_new_layers_matches_pytorch_in_evaluation_mode(string name)
    {
        var c = Reference.Root.GetProperty("layers").GetProperty(name);
        var model = name == "mlp" ? Mlp() : new Sequential(new LayerNorm("norm", [2, 3], eps: 1e-6));
        var parameters = Reference.Named(c.GetProperty("parameters"));
        Assert.Equal(model.Parameters.Select(p => p.Name), parameters.Names);
        var x = Variable("x");
        var y = model.Forward(x, training: false); // PyTorch ran the model under eval(): dropout is the identity
        var bindings = parameters.ToBindings();
        bindings["x"] = Reference.Tensor(c.GetProperty("x"));
        bindings["w"] = Reference.Tensor(c.GetProperty("w"));
        var result = Backprop.Gradients(Sum(y * Variable("w", false)), bindings);
        Reference.AssertClose(Reference.Tensor(c.GetProperty("value")), result.ValueOf(y), 1e-9, "value");
        foreach (var spec in model.Parameters)
            Reference.AssertClose(Reference.Tensor(c.GetProperty("gradients").GetProperty(spec.Name)), result.Of(spec.Variable)!, 1e-9, spec.Name);
        Reference.AssertClose(Reference.Tensor(c.GetProperty("x_grad")), result.Of(x)!, 1e-9, "x");
    }

    public static TheoryData<string> GradCheckLayers => new(["leaky", "gelu", "norm", "norm 2x3", "dropout"]);

    [Theory]
    [MemberData(nameof(GradCheckLayers))]
    public void Every_new_layer_passes_gradcheck(string name)
    {
        Sequential model = name switch
        {
            "leaky" => new(new LeakyReLU("a", 0.2), new Linear("l", 4, 2)),
            "gelu" => new(new GELU("a"), new Linear("l", 4, 2)),
            "norm" => new(new LayerNorm("a", 4), new Linear("l", 4, 2)),
            "norm 2x3" => new(new Linear("l", 4, 6), new Reshaping("r", [-1, 2, 3]), new LayerNorm("a", [2, 3])),
            "dropout" => new(new Dropout("a", 0.5), new Linear("l", 4, 2)),
            _ => throw new ArgumentException(name),
        };
        var at = model.Init<double>(seed: 5).Map((n, t) => n.EndsWith(".weight") && n.StartsWith('a') ? Shifted(t, 7) : n.StartsWith('a') ? Shifted(t, 8) : t).ToBindings();
        at["x"] = Uniform(9, 3, 4);
        foreach (var (maskName, mask) in model.Masks<double>([4], [10, 11, 12], step: 1, seed: 0)) at[maskName] = mask;
        var result = GradCheck.Check(model.Forward(Variable("x")), at);
        Assert.True(result.Passed, $"{name}: {result.WorstRelativeError:E2}; {result.Detail}");
    }

    private static Tensor<double> Shifted(Tensor<double> t, int seed) =>
        Tensor<double>.FromArray(t.ToArray().Zip(Uniform(seed, t.Length).ToArray(), (a, b) => a + b).ToArray(), [.. t.Shape]);

    private static Tensor<double> Uniform(int seed, params int[] shape)
    {
        var rng = new Random(seed);
        return Tensor<double>.FromArray(Enumerable.Range(0, Shapes.Size(shape)).Select(_ => rng.NextDouble() * 4 - 2).ToArray(), shape);
    }

    /// <summary>A test-only layer that reshapes, to put examples of shape [2, 3] in front of a layer norm.</summary>
    private sealed record Reshaping(string Name, int[] Shape) : Layer(Name)
    {
        public override Expr Forward(Expr x) => Reshape(x, Shape);
        public override string Describe() => "Unflatten()";
    }

    [Fact]
    public void Bad_layer_settings_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new Dropout("d", 1.5));
        Assert.Throws<ArgumentException>(() => new Dropout("d", double.NaN));
        Assert.Throws<ArgumentException>(() => new LayerNorm("n", 0));
        Assert.Throws<ArgumentException>(() => new LayerNorm("n", 4, eps: 0));
    }
}
