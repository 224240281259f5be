using System.Globalization;
using DistributedBackprop.Core;

namespace DistributedBackprop.Nn;

/// <summary>
/// A parameter a layer declares: its full name, shape, graph variable, and PyTorch's default bound for uniform
/// initialisation — or, with <paramref name="Fill"/>, a constant start (layer norm's ones and zeros) that
/// draws nothing from the initialisation stream.
/// </summary>
public sealed record ParameterSpec(string Name, int[] Shape, Op.Variable Variable, double InitBound, double? Fill = null);

/// <summary>
/// A named layer of a <see cref="Sequential"/>: its parameters and a pure function that builds its part of
/// the graph. Each parameter's variable is created once, so every graph a model builds shares it.
/// </summary>
public abstract record Layer(string Name)
{
    public virtual IReadOnlyList<ParameterSpec> Parameters => [];
    public abstract Expr Forward(Expr x);
    /// <summary>The layer in training or evaluation mode (PyTorch's <c>train()</c> and <c>eval()</c>); the same graph for layers without a mode.</summary>
    public virtual Expr Forward(Expr x, bool training) => Forward(x);
    /// <summary>How PyTorch prints the module, e.g. <c>Linear(in_features=3, out_features=1, bias=True)</c>.</summary>
    public abstract string Describe();
}

/// <summary>PyTorch's <c>nn.Linear</c>: y = x Wᵀ + b with weight [out, in] and bias [out], both initialised uniform in ±1/√in.</summary>
public sealed record Linear : Layer
{
    public Linear(string name, int inFeatures, int outFeatures) : base(name)
    {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new ArgumentException($"layer {name}: sizes must be positive, got in={inFeatures}, out={outFeatures}");
        In = inFeatures;
        Out = outFeatures;
        double bound = 1 / Math.Sqrt(inFeatures);
        Weight = new ParameterSpec(name + ".weight", [outFeatures, inFeatures], Expr.Variable(name + ".weight"), bound);
        Bias = new ParameterSpec(name + ".bias", [outFeatures], Expr.Variable(name + ".bias"), bound);
    }

    public int In { get; }
    public int Out { get; }
    public ParameterSpec Weight { get; }
    public ParameterSpec Bias { get; }
    public override IReadOnlyList<ParameterSpec> Parameters => [Weight, Bias];
    public override Expr Forward(Expr x) => Expr.MatMul(x, Weight.Variable, transB: true) + Bias.Variable;
    public override string Describe() => string.Create(CultureInfo.InvariantCulture, $"Linear(in_features={In}, out_features={Out}, bias=True)");
}

public sealed record Sigmoid(string Name) : Layer(Name)
{
    public override Expr Forward(Expr x) => Expr.Sigmoid(x);
    public override string Describe() => "Sigmoid()";
}

public sealed record Tanh(string Name) : Layer(Name)
{
    public override Expr Forward(Expr x) => Expr.Tanh(x);
    public override string Describe() => "Tanh()";
}

public sealed record ReLU(string Name) : Layer(Name)
{
    public override Expr Forward(Expr x) => Expr.Relu(x);
    public override string Describe() => "ReLU()";
}
