using DistributedBackprop.Core;
using DistributedBackprop.Nn;
using static DistributedBackprop.Core.Expr;

namespace DistributedBackprop.Nn.Tests;

public class SequentialTests
{
    private static Sequential NotebookMlp() => new(new Linear("linear1", 3, 3), new Sigmoid("sig1"), new Linear("linear2", 3, 1), new Sigmoid("sig2"));

    [Fact]
    public void Prints_like_pytorch() =>
        Assert.Equal(Reference.Root.GetProperty("mlp").GetProperty("repr").GetString(), NotebookMlp().ToString());

    [Fact]
    public void Named_parameter_gradients_of_the_3_3_1_network_match_pytorch()
    {
        var mlp = Reference.Root.GetProperty("mlp");
        var model = NotebookMlp();
        var parameters = Reference.Named(mlp.GetProperty("parameters"));
        Assert.Equal(model.Parameters.Select(p => p.Name), parameters.Names);
        var x = Variable("x", requiresGrad: false);
        var y = model.Forward(x);
        var bindings = parameters.ToBindings();
        bindings["x"] = Reference.Tensor(mlp.GetProperty("x"));

        var result = Backprop.Gradients(y, bindings);
        Assert.Equal([1], result.Value().Shape.ToArray()); // one sample in, one value out, as PyTorch
        Assert.Equal(mlp.GetProperty("value").GetDouble(), result.Value().Item(), 1e-12);
        foreach (var spec in model.Parameters)
        {
            var expected = Reference.Tensor(mlp.GetProperty("gradients").GetProperty(spec.Name));
            Reference.AssertClose(expected, result.Of(spec.Variable)!, 1e-9, spec.Name);
        }
        Assert.Null(result.Of(x)); // x.grad: None
    }

    [Fact]
    public void Initialisation_is_seeded_shaped_and_bounded_like_pytorch()
    {
        var model = Sequential.Mlp(4, [8], 2, "tanh");
        var a = model.Init<float>(seed: 1);
        Assert.Equal(["0.weight", "0.bias", "2.weight", "2.bias"], a.Names);
        Assert.Equal([8, 4], a["0.weight"].Shape.ToArray());
        Assert.Equal([2], a["2.bias"].Shape.ToArray());
        Assert.All(a["0.weight"].ToArray(), w => Assert.InRange(w, -0.5f, 0.5f));         // 1/sqrt(4)
        Assert.All(a["2.weight"].ToArray(), w => Assert.InRange(w, -0.3536f, 0.3536f));   // 1/sqrt(8)
        Assert.True(a["0.weight"].ToArray().Max() > 0.3f && a["0.weight"].ToArray().Min() < -0.3f); // spread over the range
        Assert.Equal(a.Hash(), model.Init<float>(seed: 1).Hash());
        Assert.NotEqual(a.Hash(), model.Init<float>(seed: 2).Hash());
    }

    [Fact]
    public void Mlp_layers_are_named_by_index_with_activations_between()
    {
        var model = Sequential.Mlp(1, [32, 32], 1, "tanh");
        Assert.Equal(["0", "1", "2", "3", "4"], model.Layers.Select(l => l.Name));
        Assert.IsType<Tanh>(model.Layers[3]);
        Assert.IsType<Linear>(model.Layers[4]);
    }

    [Fact]
    public void Bad_sizes_and_activations_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new Linear("l", 0, 3));
        Assert.Contains("unknown activation", Assert.Throws<ArgumentException>(() => Sequential.Mlp(1, [4], 1, "swish")).Message);
    }

    [Fact]
    public void Parameter_hash_sees_a_single_bit()
    {
        var p = Sequential.Mlp(2, [3], 1, "relu").Init<float>(0);
        var flipped = p.Map((name, t) =>
        {
            var data = t.ToArray();
            if (name == "2.bias") data[0] = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(data[0]) ^ 1);
            return Tensor<float>.FromArray(data, [.. t.Shape]);
        });
        Assert.NotEqual(p.Hash(), flipped.Hash());
        Assert.Equal(64, p.Hash().Length);
    }
}
