using System.Numerics;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace DistributedBackprop.Core;

public static partial class Op
{
    /// <summary>|x|; its derivative is sign(x), 0 at 0 as in PyTorch.</summary>
    public sealed record Abs(Expr X) : Unary(X)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => TP.Abs<T>(x[0].Buffer, y.Buffer);
        internal override Expr?[] Backward(Expr g) => [g * new Sign(X)];
        public override string BackwardName => "AbsBackward0";
    }

    /// <summary>sign(x): -1, 0 or 1. Flat wherever it is differentiable, so it passes no gradient on.</summary>
    public sealed record Sign(Expr X) : Unary(X)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => Piecewise.Sign<T>(x[0].Buffer, y.Buffer);
        internal override Expr?[] Backward(Expr g) => [null];
        public override string BackwardName => "SignBackward0";
    }

    /// <summary>
    /// Element-wise maximum with broadcasting, NaN propagating (torch.maximum). At a tie each input gets half
    /// the gradient, as PyTorch's rule: grad where it is the larger, grad / 2 where equal, 0 where smaller.
    /// </summary>
    public sealed record Maximum(Expr A, Expr B) : Binary(A, B)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => Broadcast.Binary<T, MaxKernel<T>>(x[0], x[1], y);
        internal override Expr?[] Backward(Expr g) => [new SumLike(g * new Heaviside(A, B), A), new SumLike(g * new Heaviside(B, A), B)];
        public override string BackwardName => "MaximumBackward0";
    }

    /// <summary>Element-wise minimum (torch.minimum); ties split the gradient as in <see cref="Maximum"/>.</summary>
    public sealed record Minimum(Expr A, Expr B) : Binary(A, B)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => Broadcast.Binary<T, MinKernel<T>>(x[0], x[1], y);
        internal override Expr?[] Backward(Expr g) => [new SumLike(g * new Heaviside(B, A), A), new SumLike(g * new Heaviside(A, B), B)];
        public override string BackwardName => "MinimumBackward0";
    }

    /// <summary>
    /// H(a - b) with H(0) = ½: 1 where a &gt; b, ½ where a = b, 0 where a &lt; b (1 where either is NaN, as
    /// PyTorch's rule for max gives). The share of max(a, b)'s gradient that goes to a; flat, no gradient.
    /// </summary>
    public sealed record Heaviside(Expr A, Expr B) : Binary(A, B)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => Broadcast.Binary<T, HeavisideKernel<T>>(x[0], x[1], y);
        internal override Expr?[] Backward(Expr g) => [null, null];
        public override string BackwardName => "HeavisideBackward0";
    }
}
