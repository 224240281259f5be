using System.Numerics;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace DistributedBackprop.Core;

public static partial class Op
{
    /// <summary>An element-wise function of one tensor.</summary>
    public abstract record Unary(Expr X) : Expr
    {
        public override Expr[] Inputs => [X];
        internal override int[] InferShape(int[][] inputs) => inputs[0];
    }

    public sealed record Exp(Expr X) : Unary(X)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => TP.Exp<T>(x[0].Buffer, y.Buffer);
        internal override Expr?[] Backward(Expr g) => [g * this];
        public override string BackwardName => "ExpBackward0";
    }

    public sealed record Log(Expr X) : Unary(X)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => TP.Log<T>(x[0].Buffer, y.Buffer);
        internal override Expr?[] Backward(Expr g) => [g / X];
        public override string BackwardName => "LogBackward0";
    }

    public sealed record Sqrt(Expr X) : Unary(X)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => TP.Sqrt<T>(x[0].Buffer, y.Buffer);
        internal override Expr?[] Backward(Expr g) => [g / (2.0 * this)];
        public override string BackwardName => "SqrtBackward0";
    }

    public sealed record Sin(Expr X) : Unary(X)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => TP.Sin<T>(x[0].Buffer, y.Buffer);
        internal override Expr?[] Backward(Expr g) => [g * new Cos(X)];
        public override string BackwardName => "SinBackward0";
    }

    public sealed record Cos(Expr X) : Unary(X)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => TP.Cos<T>(x[0].Buffer, y.Buffer);
        internal override Expr?[] Backward(Expr g) => [g * -new Sin(X)];
        public override string BackwardName => "CosBackward0";
    }

    public sealed record Tanh(Expr X) : Unary(X)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => TP.Tanh<T>(x[0].Buffer, y.Buffer);
        internal override Expr?[] Backward(Expr g) => [g * (1.0 - new PowConst(this, 2))];
        public override string BackwardName => "TanhBackward0";
    }

    public sealed record Sigmoid(Expr X) : Unary(X)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => TP.Sigmoid<T>(x[0].Buffer, y.Buffer);
        internal override Expr?[] Backward(Expr g) => [g * (this * (1.0 - this))];
        public override string BackwardName => "SigmoidBackward0";
    }

    public sealed record Relu(Expr X) : Unary(X)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => TP.Max(x[0].Buffer, T.Zero, y.Buffer);
        internal override Expr?[] Backward(Expr g) => [g * new Step(X)];
        public override string BackwardName => "ReluBackward0";
    }

    /// <summary>Heaviside step, 1 where x &gt; 0: ReLU's derivative, itself with zero gradient.</summary>
    public sealed record Step(Expr X) : Unary(X)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y)
        {
            var src = x[0].Buffer;
            for (int i = 0; i < src.Length; i++) y.Buffer[i] = src[i] > T.Zero ? T.One : T.Zero;
        }
        internal override Expr?[] Backward(Expr g) => [null];
        public override string BackwardName => "GtBackward0";
    }
}
