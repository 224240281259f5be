using DistributedBackprop.Nn;

namespace DistributedBackprop.Nn.Tests;

public class ModelSpecTests
{
    [Fact]
    public void The_layer_list_builds_pytorchs_sequential()
    {
        var model = ModelSpec.Build(ModelSpec.Parse("linear:16, ReLU, dropout:0.25, leaky-relu:0.2, layer_norm, gelu, linear:8, tanh, sigmoid, linear"), 5, 3);
        Assert.Equal(
            """
            Sequential(
              (0): Linear(in_features=5, out_features=16, bias=True)
              (1): ReLU()
              (2): Dropout(p=0.25, inplace=False)
              (3): LeakyReLU(negative_slope=0.2)
              (4): LayerNorm((16,), eps=1e-05, elementwise_affine=True)
              (5): GELU(approximate='none')
              (6): Linear(in_features=16, out_features=8, bias=True)
              (7): Tanh()
              (8): Sigmoid()
              (9): Linear(in_features=8, out_features=3, bias=True)
            )
            """.ReplaceLineEndings("\n"), model.ToString());
        Assert.Equal(["0.weight", "0.bias", "4.weight", "4.bias", "6.weight", "6.bias", "9.weight", "9.bias"], model.Parameters.Select(p => p.Name));
    }

    [Fact]
    public void The_json_form_round_trips_and_is_what_pytorchs_constructors_take()
    {
        var model = ModelSpec.Build(ModelSpec.Parse("linear:4,leaky-relu:0.1,dropout,layer-norm:0.001,linear"), 3, 2);
        var json = ModelSpec.ToJson(model);
        Assert.Equal("""{"layers":[{"type":"Linear","in_features":3,"out_features":4},{"type":"LeakyReLU","negative_slope":0.1},{"type":"Dropout","p":0.5},{"type":"LayerNorm","normalized_shape":[4],"eps":0.001},{"type":"Linear","in_features":4,"out_features":2}]}""", json);
        Assert.Equal(model.ToString(), ModelSpec.Build(ModelSpec.FromJson(json, "m.json"), 3, 2).ToString());
        // Without the widths that follow from the layer before, as a user writes it.
        var loose = ModelSpec.FromJson("""{"layers": [{"type": "linear", "out_features": 4}, {"type": "ReLU"}, {"type": "Linear"}]}""", "m.json");
        Assert.Equal("Linear(in_features=4, out_features=2, bias=True)", ModelSpec.Build(loose, 3, 2).Layers[^1].Describe());
        Assert.Equal(ModelSpec.ToJson(ModelSpec.Parse("linear:4,relu,linear")), ModelSpec.ToJson(loose));
    }

    [Theory]
    [InlineData("linear:16,swish,linear", "'swish' is not a layer")]
    [InlineData("linear:x", "width must be a positive whole number")]
    [InlineData("relu:3", "ReLU takes no argument")]
    [InlineData("dropout:abc", "'abc' is not a number")]
    public void Bad_layer_text_says_which_part(string text, string expected) =>
        Assert.Contains(expected, Assert.Throws<ModelSpecException>(() => ModelSpec.Parse(text)).Message);

    [Theory]
    [InlineData("linear:16,relu", "ends with width 16; this task needs 3 outputs")]
    [InlineData("linear:0,linear", "out_features must be from 1 to 65536, not 0")]
    [InlineData("dropout:1,linear", "p must be in [0, 1), not 1")]
    [InlineData("layer-norm:-1,linear", "eps must be a positive number")]
    [InlineData("linear:65536,linear:65536,linear", "over 134217728 parameters")]
    [InlineData("relu", "ends with width 5")]
    public void Models_that_cannot_be_built_say_why(string text, string expected) =>
        Assert.Contains(expected, Assert.Throws<ModelSpecException>(() => ModelSpec.Build(ModelSpec.Parse(text), 5, 3)).Message);

    [Theory]
    [InlineData("{", "not JSON")]
    [InlineData("""{"layers": [{"type": "Conv2d"}]}""", "unknown type 'Conv2d'")]
    [InlineData("""{"layers": [{"type": "Linear", "out_features": 2.5}]}""", "\"out_features\" must be a whole number")]
    [InlineData("""{"layers": [{"type": "ReLU", "p": 0.1}]}""", "ReLU has no argument \"p\"")]
    [InlineData("""{"layers": [{"type": "Linear", "out_features": 3, "bias": false}]}""", "only bias=true")]
    [InlineData("""{"layers": [{"type": "Linear", "in_features": 4, "out_features": 3}]}""", "in_features is 4, but the layer before gives 5")]
    [InlineData("""[1, 2]""", "expected an object")]
    [InlineData("""{"layers": [{"type": 7}]}""", "\"type\" must be a string")]
    public void Bad_json_says_which_layer(string json, string expected) =>
        Assert.Contains(expected, Assert.Throws<ModelSpecException>(() => ModelSpec.Build(ModelSpec.FromJson(json, "m.json"), 5, 3)).Message);
}
