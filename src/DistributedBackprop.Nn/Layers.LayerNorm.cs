using System.Globalization;
using DistributedBackprop.Core;
using static DistributedBackprop.Core.Expr;

namespace DistributedBackprop.Nn;

/// <summary>
/// PyTorch's <c>nn.LayerNorm(normalized_shape, eps=1e-5)</c>: each example normalised over its trailing
/// <see cref="NormalizedShape"/> axes to mean 0 and (biased) variance 1, then scaled by <c>weight</c> (ones)
/// and shifted by <c>bias</c> (zeros), both of that shape. Built from primitives — mean, subtract, square,
/// sqrt, divide — with the mean subtracted before the variance is taken (two passes, stable where E[x²] - E[x]²
/// cancels); its backward is the primitives' own. A layer over several axes works on them flattened into one.
/// </summary>
public sealed record LayerNorm : Layer
{
    public LayerNorm(string name, int normalizedShape, double eps = 1e-5) : this(name, [normalizedShape], eps) { }

    public LayerNorm(string name, int[] normalizedShape, double eps = 1e-5) : base(name)
    {
        if (normalizedShape.Length == 0 || normalizedShape.Any(d => d <= 0))
            throw new ArgumentException($"layer {name}: normalized_shape must be positive sizes, got {Shapes.Format(normalizedShape)}");
        if (!(eps > 0)) throw new ArgumentException($"layer {name}: eps must be positive, got {eps}");
        NormalizedShape = [.. normalizedShape];
        Eps = eps;
        Weight = new ParameterSpec(name + ".weight", [.. normalizedShape], Variable(name + ".weight"), 0, Fill: 1);
        Bias = new ParameterSpec(name + ".bias", [.. normalizedShape], Variable(name + ".bias"), 0, Fill: 0);
    }

    public IReadOnlyList<int> NormalizedShape { get; }
    public double Eps { get; }
    public ParameterSpec Weight { get; }
    public ParameterSpec Bias { get; }
    public override IReadOnlyList<ParameterSpec> Parameters => [Weight, Bias];

    public override Expr Forward(Expr x)
    {
        if (NormalizedShape.Count == 1) return Normalize(x) * Weight.Variable + Bias.Variable;
        int size = Shapes.Size(NormalizedShape.ToArray());
        var y = Normalize(Reshape(x, -1, size)) * Reshape(Weight.Variable, size) + Reshape(Bias.Variable, size);
        return new Op.ReshapeLike(y, x);
    }

    private Expr Normalize(Expr x)
    {
        var centred = x - Mean(x, -1, keepDims: true);
        return centred / Sqrt(Mean(Square(centred), -1, keepDims: true) + Eps);
    }

    public override string Describe()
    {
        var shape = NormalizedShape.Count == 1 ? $"({NormalizedShape[0]},)" : "(" + string.Join(", ", NormalizedShape) + ")";
        return string.Create(CultureInfo.InvariantCulture, $"LayerNorm({shape}, eps={Python.Float(Eps)}, elementwise_affine=True)");
    }
}
