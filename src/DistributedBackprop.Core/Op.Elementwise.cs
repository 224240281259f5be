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
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => Activations.Tanh<T>(x[0].Buffer, y.Buffer);
        internal override Expr?[] Backward(Expr g) => [new TanhGrad(g, this)];
        public override string BackwardName => "TanhBackward0";
    }

    public sealed record Sigmoid(Expr X) : Unary(X)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => Activations.Sigmoid<T>(x[0].Buffer, y.Buffer);
        internal override Expr?[] Backward(Expr g) => [new SigmoidGrad(g, this)];
        public override string BackwardName => "SigmoidBackward0";
    }

    public sealed record Relu(Expr X) : Unary(X)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => TP.Max(x[0].Buffer, T.Zero, y.Buffer);
        internal override Expr?[] Backward(Expr g) => [new ReluGrad(g, X)];
        public override string BackwardName => "ReluBackward0";
    }

    // The activations' backward rules as single passes (one op instead of three), themselves differentiable.

    /// <summary>tanh's backward: g (1 - y²) where y = tanh(x).</summary>
    public sealed record TanhGrad(Expr G, Expr Y) : Binary(G, Y)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => Fused.TanhGrad<T>(x[0].Buffer, x[1].Buffer, y.Buffer);
        internal override Expr?[] Backward(Expr g) => [new TanhGrad(g, Y), new SumLike(-2.0 * g * G * Y, Y)];
        public override string BackwardName => "TanhBackwardBackward0";
    }

    /// <summary>sigmoid's backward: g s (1 - s) where s = sigmoid(x).</summary>
    public sealed record SigmoidGrad(Expr G, Expr S) : Binary(G, S)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => Fused.SigmoidGrad<T>(x[0].Buffer, x[1].Buffer, y.Buffer);
        internal override Expr?[] Backward(Expr g) => [new SigmoidGrad(g, S), new SumLike(g * G * (1.0 - 2.0 * S), S)];
        public override string BackwardName => "SigmoidBackwardBackward0";
    }

    /// <summary>ReLU's backward: g where x &gt; 0, else 0. Its own derivative in g is itself; in x, zero.</summary>
    public sealed record ReluGrad(Expr G, Expr X) : Binary(G, X)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => Fused.ReluGrad<T>(x[0].Buffer, x[1].Buffer, y.Buffer);
        internal override Expr?[] Backward(Expr g) => [new ReluGrad(g, X), null];
        public override string BackwardName => "ThresholdBackwardBackward0";
    }
}
