using System.Numerics;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace DistributedBackprop.Core;

public static partial class Op
{
    /// <summary>A reduction over all elements (Axis null) or one axis.</summary>
    public abstract record Reduction(Expr X, int? Axis, bool KeepDims) : Expr
    {
        public override Expr[] Inputs => [X];

        internal override int[] InferShape(int[][] inputs)
        {
            var s = inputs[0];
            if (Axis is not int axis) return KeepDims ? Enumerable.Repeat(1, s.Length).ToArray() : [];
            int a = Shapes.NormalizeAxis(axis, s.Length);
            return KeepDims ? s.Select((d, i) => i == a ? 1 : d).ToArray() : s.Where((_, i) => i != a).ToArray();
        }

        /// <summary>The incoming gradient spread back over X's shape.</summary>
        protected Expr Spread(Expr g) => new BroadcastLike(KeepDims || Axis is null ? g : new ExpandDims(g, Axis.Value), X);

        protected void SumInto<T>(Tensor<T> x, Tensor<T> y) where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (Axis is not int axis) { y.Buffer[0] = TP.Sum<T>(x.Buffer); return; }
            var (outer, n, inner) = Shapes.AroundAxis(x.Dims, Shapes.NormalizeAxis(axis, x.Rank));
            for (int o = 0; o < outer; o++)
            {
                if (inner == 1) { y.Buffer[o] = TP.Sum<T>(x.Buffer.AsSpan(o * n, n)); continue; }
                var dst = y.Buffer.AsSpan(o * inner, inner);
                x.Buffer.AsSpan(o * n * inner, inner).CopyTo(dst);
                for (int k = 1; k < n; k++) TP.Add(dst, x.Buffer.AsSpan((o * n + k) * inner, inner), dst);
            }
        }
    }

    public sealed record Sum(Expr X, int? Axis = null, bool KeepDims = false) : Reduction(X, Axis, KeepDims)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => SumInto(x[0], y);
        internal override Expr?[] Backward(Expr g) => [Spread(g)];
        public override string BackwardName => Axis is null ? "SumBackward0" : "SumBackward1";
    }

    public sealed record Mean(Expr X, int? Axis = null, bool KeepDims = false) : Reduction(X, Axis, KeepDims)
    {
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y)
        {
            SumInto(x[0], y);
            int count = Axis is int a ? x[0].Dims[Shapes.NormalizeAxis(a, x[0].Rank)] : x[0].Length;
            TP.Divide(y.Buffer, T.CreateChecked(count), y.Buffer);
        }
        internal override Expr?[] Backward(Expr g) => [Spread(g) / new Count(X, Axis)];
        public override string BackwardName => Axis is null ? "MeanBackward0" : "MeanBackward1";
    }

    /// <summary>log(softmax(x)) along an axis, computed as x - max - log(sum(exp(x - max))) so that it cannot overflow.</summary>
    public sealed record LogSoftmax(Expr X, int Axis = -1) : Expr
    {
        public override Expr[] Inputs => [X];
        internal override int[] InferShape(int[][] inputs)
        {
            Shapes.NormalizeAxis(Axis, inputs[0].Length);
            return inputs[0];
        }

        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y)
        {
            var (outer, n, inner) = Shapes.AroundAxis(x[0].Dims, Shapes.NormalizeAxis(Axis, x[0].Rank));
            var src = x[0].Buffer;
            var dst = y.Buffer;
            if (inner == 1)
            {
                for (int o = 0; o < outer; o++)
                {
                    var row = src.AsSpan(o * n, n);
                    var outRow = dst.AsSpan(o * n, n);
                    T max = TP.Max<T>(row);
                    TP.Subtract(row, max, outRow);
                    TP.Exp<T>(outRow, outRow); // the output row doubles as scratch for exp(x - max)
                    TP.Subtract(row, max + T.Log(TP.Sum<T>(outRow)), outRow);
                }
                return;
            }
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++)
                {
                    int start = o * n * inner + i;
                    T max = T.NegativeInfinity;
                    for (int k = 0; k < n; k++) max = T.Max(max, src[start + k * inner]);
                    T sum = T.Zero;
                    for (int k = 0; k < n; k++) sum += T.Exp(src[start + k * inner] - max);
                    T shift = max + T.Log(sum);
                    for (int k = 0; k < n; k++) dst[start + k * inner] = src[start + k * inner] - shift;
                }
        }

        // softmax = exp(this); d/dx = g - softmax * sum(g) along the axis.
        internal override Expr?[] Backward(Expr g) => [g - new Exp(this) * new Sum(g, Axis, KeepDims: true)];
        public override string BackwardName => "LogSoftmaxBackward0";
    }
}
