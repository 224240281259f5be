using System.Numerics;
using DistributedBackprop.Core;

namespace DistributedBackprop.Nn;

/// <summary>
/// PyTorch's <c>nn.Dropout(p=0.5)</c>: in training each element is zeroed with probability p and the rest are
/// scaled by 1/(1-p); in evaluation it is the identity. The draw is not part of the graph: in training the
/// layer multiplies by its mask variable <c>{name}.mask</c> (no gradient, so the gradient is mask·g), whose
/// tensor <see cref="Mask{T}(string, double, ReadOnlySpan{int}, IReadOnlyList{int}, long, int)"/> builds from (seed, step, example index in the data set, layer name) alone —
/// never from a shared stream — so an example's mask is the same bits in every micro-shard, on every worker and
/// on replay.
/// </summary>
public sealed record Dropout : Layer
{
    public Dropout(string name, double p = 0.5) : base(name)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentException($"layer {name}: dropout probability has to be between 0 and 1, got {p}");
        P = p;
        MaskVariable = Expr.Variable(name + ".mask", requiresGrad: false);
    }

    public double P { get; }
    public Op.Variable MaskVariable { get; }

    /// <summary>Whether a training graph reads <see cref="MaskVariable"/>: not when nothing is dropped.</summary>
    public bool NeedsMask => P > 0;

    /// <summary>Training mode, PyTorch's default for a module.</summary>
    public override Expr Forward(Expr x) => Forward(x, training: true);
    public override Expr Forward(Expr x, bool training) => training && NeedsMask ? x * MaskVariable : x;
    public override string Describe() => $"Dropout(p={Python.Float(P)}, inplace=False)";

    /// <summary>This layer's mask for <paramref name="examples"/>; see <see cref="Mask{T}(string, double, ReadOnlySpan{int}, IReadOnlyList{int}, long, int)"/>.</summary>
    public Tensor<T> Mask<T>(ReadOnlySpan<int> exampleShape, IReadOnlyList<int> examples, long step, int seed) where T : unmanaged, IFloatingPointIeee754<T> =>
        Mask<T>(Name, P, exampleShape, examples, step, seed);

    /// <summary>
    /// The mask [examples, ...exampleShape] of the dropout layer <paramref name="layer"/> at
    /// <paramref name="step"/>: row i belongs to example <paramref name="examples"/>[i] (its index in the data
    /// set) and is drawn from its own stream, <c>Rng.For(seed, "dropout " + layer, step, example)</c>, one
    /// uniform number an element in row-major order; an element is kept, as 1/(1-p), where its number is at
    /// least p, else 0. So a shard's mask is the rows of the whole batch's mask, bit for bit.
    /// </summary>
    public static Tensor<T> Mask<T>(string layer, double p, ReadOnlySpan<int> exampleShape, IReadOnlyList<int> examples, long step, int seed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int size = Shapes.Size(exampleShape);
        var data = new T[examples.Count * size];
        for (int e = 0; e < examples.Count; e++) FillRow<T>(data.AsSpan(e * size, size), layer, p, examples[e], step, seed);
        return new Tensor<T>(data, [examples.Count, .. exampleShape]);
    }

    /// <summary>
    /// Writes the mask of the examples at <paramref name="examples"/> into <paramref name="destination"/>
    /// ([examples, one example's mask size], row-major): the rows of <see cref="Mask{T}(string, double, ReadOnlySpan{int}, IReadOnlyList{int}, long, int)"/>,
    /// bit for bit, into a buffer the caller keeps from step to step.
    /// </summary>
    public void FillMask<T>(Span<T> destination, ReadOnlySpan<int> examples, long step, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (examples.Length == 0 || destination.Length % examples.Length != 0)
            throw new ArgumentException($"a mask of {destination.Length} elements does not split into {examples.Length} examples");
        int size = destination.Length / examples.Length;
        for (int e = 0; e < examples.Length; e++) FillRow(destination.Slice(e * size, size), Name, P, examples[e], step, seed);
    }

    private static void FillRow<T>(Span<T> row, string layer, double p, int example, long step, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T kept = p < 1 ? T.CreateChecked(1 / (1 - p)) : T.Zero;
        var rng = Rng.For(seed, "dropout " + layer, step, example);
        for (int k = 0; k < row.Length; k++) row[k] = rng.NextDouble() >= p ? kept : T.Zero;
    }
}
