using System.Numerics;
using System.Text;
using DistributedBackprop.Core;

namespace DistributedBackprop.Nn;

/// <summary>
/// PyTorch's <c>nn.Sequential</c> of named layers, in order. A model is its named parameter set (from
/// <see cref="Init{T}"/>) plus this pure forward function that builds the graph.
/// </summary>
public sealed partial record Sequential
{
    public Sequential(params Layer[] layers)
    {
        var duplicate = layers.GroupBy(l => l.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"layer name '{duplicate.Key}' appears twice");
        Layers = layers;
    }

    public IReadOnlyList<Layer> Layers { get; }
    public IReadOnlyList<ParameterSpec> Parameters => Layers.SelectMany(l => l.Parameters).ToList();

    /// <summary>An MLP as <c>nn.Sequential(Linear, act, Linear, act, ..., Linear)</c> unnamed, so layers are "0", "1", ...</summary>
    public static Sequential Mlp(int inputs, IReadOnlyList<int> hidden, int outputs, string activation)
    {
        var layers = new List<Layer>();
        int width = inputs;
        foreach (var h in hidden.Append(outputs))
        {
            layers.Add(new Linear(layers.Count.ToString(), width, h));
            width = h;
            if (layers.Count < 2 * hidden.Count + 1) layers.Add(Activation(layers.Count.ToString(), activation));
        }
        return new Sequential([.. layers]);
    }

    /// <summary>The activations an MLP can be built with, by the names the command line and jobs use.</summary>
    public static readonly IReadOnlyList<string> Activations = ["tanh", "sigmoid", "relu"];

    /// <summary>"tanh, sigmoid or relu": <see cref="Activations"/> for help texts and errors.</summary>
    public static string ActivationList => string.Join(", ", Activations.SkipLast(1)) + " or " + Activations[^1];

    public static Layer Activation(string name, string kind) => kind.ToLowerInvariant() switch
    {
        "tanh" => new Tanh(name),
        "sigmoid" => new Sigmoid(name),
        "relu" => new ReLU(name),
        _ => throw new ArgumentException($"unknown activation '{kind}' ({ActivationList})"),
    };

    public Expr Forward(Expr x) => Layers.Aggregate(x, (h, layer) => layer.Forward(h));

    /// <summary>Seeded initialisation, layer by layer in order, each parameter uniform in its layer's bound or filled with its constant.</summary>
    public Parameters<T> Init<T>(int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = Rng.For(seed, "init");
        return new Parameters<T>(Parameters.Select(p =>
        {
            var data = new T[Shapes.Size(p.Shape)];
            if (p.Fill is double fill) Array.Fill(data, T.CreateChecked(fill));
            else for (int i = 0; i < data.Length; i++) data[i] = T.CreateChecked(rng.Uniform(-p.InitBound, p.InitBound));
            return (p.Name, new Tensor<T>(data, p.Shape));
        }));
    }

    /// <summary>The model as PyTorch prints it.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder("Sequential(\n");
        foreach (var layer in Layers) sb.Append("  (").Append(layer.Name).Append("): ").Append(layer.Describe()).Append('\n');
        return sb.Append(')').ToString();
    }
}
