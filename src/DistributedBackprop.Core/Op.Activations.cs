using System.Numerics;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace DistributedBackprop.Core;

public static partial class Op
{
    /// <summary>PyTorch's leaky_relu: x where x &gt; 0, else slope·x.</summary>
    public sealed record LeakyRelu(Expr X, double Slope) : Unary(X)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => Piecewise.LeakyRelu(x[0].Buffer, T.CreateChecked(Slope), y.Buffer);
        internal override Expr?[] Backward(Expr g) => [new LeakyReluGrad(g, X, Slope)];
        public override string BackwardName => "LeakyReluBackward0";
    }

    /// <summary>leaky_relu's backward: g where x &gt; 0, else slope·g (the slope at 0, as PyTorch). Linear in g, flat in x.</summary>
    public sealed record LeakyReluGrad(Expr G, Expr X, double Slope) : Binary(G, X)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => Piecewise.LeakyReluGrad(x[0].Buffer, x[1].Buffer, T.CreateChecked(Slope), y.Buffer);
        internal override Expr?[] Backward(Expr g) => [new LeakyReluGrad(g, X, Slope), null];
        public override string BackwardName => "LeakyReluBackwardBackward0";
    }

    /// <summary>
    /// GELU in PyTorch's default, exact form: x Φ(x), Φ the standard normal distribution function, in one
    /// pass (<see cref="Erf"/>); its backward g (Φ(x) + x φ(x)) is one more.
    /// </summary>
    public sealed record Gelu(Expr X) : Unary(X)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => Erf.Gelu<T>(x[0].Buffer, y.Buffer);
        internal override Expr?[] Backward(Expr g) => [new GeluGrad(g, X)];
        public override string BackwardName => "GeluBackward0";
    }

    /// <summary>GELU's backward: g (Φ(x) + x φ(x)), with φ(x) = exp(-x²/2) / √(2π).</summary>
    public sealed record GeluGrad(Expr G, Expr X) : Binary(G, X)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => Erf.GeluBackward<T>(x[0].Buffer, x[1].Buffer, y.Buffer);
        // d/dx (Φ + x φ) = 2φ + x φ' = φ (2 - x²).
        internal override Expr?[] Backward(Expr g) =>
            [new GeluGrad(g, X), new SumLike(g * G * (0.3989422804014327 * new Exp(-0.5 * X * X)) * (2.0 - X * X), X)];
        public override string BackwardName => "GeluBackwardBackward0";
    }

    /// <summary>
    /// softplus(x) = log(1 + eˣ), computed as max(x, 0) + log(1 + e^-|x|) so that it cannot overflow (the
    /// stable form of binary cross-entropy on logits rests on it); its derivative is sigmoid(x).
    /// </summary>
    public sealed record Softplus(Expr X) : Unary(X)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y)
        {
            var (src, dst) = (x[0].Buffer, y.Buffer);
            TP.Abs<T>(src, dst); // dst doubles as scratch for log(1 + e^-|x|)
            TP.Negate<T>(dst, dst);
            TP.Exp<T>(dst, dst);
            TP.Add(dst, T.One, dst);
            TP.Log<T>(dst, dst);
            for (int i = 0; i < dst.Length; i++) dst[i] += T.Max(src[i], T.Zero);
        }
        internal override Expr?[] Backward(Expr g) => [g * new Sigmoid(X)];
        public override string BackwardName => "SoftplusBackward0";
    }
}
