using DistributedBackprop.Core;

namespace DistributedBackprop.Nn;

/// <summary>PyTorch's <c>nn.LeakyReLU(negative_slope=0.01)</c>.</summary>
public sealed record LeakyReLU(string Name, double NegativeSlope = 0.01) : Layer(Name)
{
    public override Expr Forward(Expr x) => Expr.LeakyRelu(x, NegativeSlope);
    public override string Describe() => $"LeakyReLU(negative_slope={Python.Float(NegativeSlope)})";
}

/// <summary>PyTorch's <c>nn.GELU()</c>, the exact form x·Φ(x) (approximate='none').</summary>
public sealed record GELU(string Name) : Layer(Name)
{
    public override Expr Forward(Expr x) => Expr.Gelu(x);
    public override string Describe() => "GELU(approximate='none')";
}
