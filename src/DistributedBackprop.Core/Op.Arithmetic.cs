using System.Numerics;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace DistributedBackprop.Core;

public static partial class Op
{
    /// <summary>A broadcasting binary op; gradients are summed back over broadcast axes with <see cref="SumLike"/>.</summary>
    public abstract record Binary(Expr A, Expr B) : Expr
    {
        public override Expr[] Inputs => [A, B];
        internal override int[] InferShape(int[][] inputs) => Shapes.Broadcast(inputs[0], inputs[1]);
    }

    public sealed record Add(Expr A, Expr B) : Binary(A, B)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => Broadcast.Binary<T, AddKernel<T>>(x[0], x[1], y);
        internal override Expr?[] Backward(Expr g) => [new SumLike(g, A), new SumLike(g, B)];
        public override string BackwardName => "AddBackward0";
    }

    public sealed record Sub(Expr A, Expr B) : Binary(A, B)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => Broadcast.Binary<T, SubKernel<T>>(x[0], x[1], y);
        internal override Expr?[] Backward(Expr g) => [new SumLike(g, A), new SumLike(-g, B)];
        public override string BackwardName => "SubBackward0";
    }

    public sealed record Mul(Expr A, Expr B) : Binary(A, B)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => Broadcast.Binary<T, MulKernel<T>>(x[0], x[1], y);
        internal override Expr?[] Backward(Expr g) => [new SumLike(g * B, A), new SumLike(g * A, B)];
        public override string BackwardName => "MulBackward0";
    }

    public sealed record Div(Expr A, Expr B) : Binary(A, B)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => Broadcast.Binary<T, DivKernel<T>>(x[0], x[1], y);
        // d(a/b)/db = -a/b^2 = -(a/b)/b: reuse this node's own value.
        internal override Expr?[] Backward(Expr g) => [new SumLike(g / B, A), new SumLike(-(g * this) / B, B)];
        public override string BackwardName => "DivBackward0";
    }

    /// <summary><c>a^b</c>, tensor exponent.</summary>
    public sealed record Pow(Expr A, Expr B) : Binary(A, B)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => Broadcast.Binary<T, PowKernel<T>>(x[0], x[1], y);
        internal override Expr?[] Backward(Expr g) =>
            [new SumLike(g * B * new Pow(A, B - 1.0), A), new SumLike(g * this * new Log(A), B)];
        public override string BackwardName => "PowBackward1";
    }

    /// <summary><c>x^p</c>, constant exponent.</summary>
    public sealed record PowConst(Expr X, double P) : Expr
    {
        public override Expr[] Inputs => [X];
        internal override int[] InferShape(int[][] inputs) => inputs[0];
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y)
        {
            // x^1 is x and x^2 the rounded x·x; the backward of a square asks for x^1, which the library's pow
            // (element by element, through the C library's powf) also returns as x, after its own JIT time.
            if (P == 1) x[0].Buffer.CopyTo(y.Buffer, 0);
            else if (P == 2) MulKernel<T>.Run(x[0].Buffer, x[0].Buffer, y.Buffer);
            else TP.Pow(x[0].Buffer, T.CreateChecked(P), y.Buffer);
        }
        // x^0 is constant: no gradient, rather than 0 * x^-1 (NaN at 0).
        internal override Expr?[] Backward(Expr g) => P == 0 ? [null] : [g * (P * new PowConst(X, P - 1))];
        public override string BackwardName => "PowBackward0";
    }

    public sealed record Neg(Expr X) : Expr
    {
        public override Expr[] Inputs => [X];
        internal override int[] InferShape(int[][] inputs) => inputs[0];
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => TP.Negate<T>(x[0].Buffer, y.Buffer);
        internal override Expr?[] Backward(Expr g) => [-g];
        public override string BackwardName => "NegBackward0";
    }
}
