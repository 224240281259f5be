using System.Diagnostics;
using System.Numerics;

namespace DistributedBackprop.Core;

/// <summary>The cases of <see cref="Expr"/>, one sealed record per node kind.</summary>
public static partial class Op
{
    /// <summary>An input, bound by name at evaluation. <paramref name="RequiresGrad"/> false: it gets no gradient (PyTorch's <c>x.grad</c> is None).</summary>
    public sealed record Variable(string Name, bool RequiresGrad = true) : Expr
    {
        public override Expr[] Inputs => [];
        internal override int[] InferShape(int[][] inputs) => throw new UnreachableException("variables take their shape from their binding");
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => throw new UnreachableException("variables take their value from their binding");
        internal override Expr?[] Backward(Expr g) => [];
        public override string BackwardName => "AccumulateGrad";
    }

    /// <summary>A fixed value, kept in double and converted to the evaluation's element type.</summary>
    public sealed record Constant(Tensor<double> Value) : Expr
    {
        public Constant(double value) : this(Tensor<double>.Scalar(value)) { }
        public override Expr[] Inputs => [];
        internal override int[] InferShape(int[][] inputs) => Value.Dims;
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y)
        {
            for (int i = 0; i < y.Length; i++) y.Buffer[i] = T.CreateChecked(Value.Buffer[i]);
        }
        internal override Expr?[] Backward(Expr g) => [];
        public override string BackwardName => "Constant";
    }

    /// <summary>A tensor of <paramref name="Like"/>'s shape filled with one value: the seed of backprop, and zero gradients.</summary>
    public sealed record Fill(Expr Like, double Value) : Expr
    {
        public override Expr[] Inputs => [Like];
        internal override int[] InferShape(int[][] inputs) => inputs[0];
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => Array.Fill(y.Buffer, T.CreateChecked(Value));
        internal override Expr?[] Backward(Expr g) => [null];
        public override string BackwardName => Value == 0 ? "ZerosLike" : "OnesLike";
    }

    /// <summary>The number of elements a mean divides by: all of them, or one axis's length. Depends only on shape.</summary>
    public sealed record Count(Expr X, int? Axis) : Expr
    {
        public override Expr[] Inputs => [X];
        internal override int[] InferShape(int[][] inputs) => [];
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) =>
            y.Buffer[0] = T.CreateChecked(Axis is int a ? x[0].Dims[Shapes.NormalizeAxis(a, x[0].Rank)] : x[0].Length);
        internal override Expr?[] Backward(Expr g) => [null];
        public override string BackwardName => "Numel";
    }
}
