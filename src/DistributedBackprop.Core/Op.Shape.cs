using System.Numerics;

namespace DistributedBackprop.Core;

public static partial class Op
{
    /// <summary>The same data under a new shape; one dimension may be -1.</summary>
    public sealed record Reshape(Expr X, int[] Shape) : Expr
    {
        public override Expr[] Inputs => [X];
        internal override int[] InferShape(int[][] inputs) => Shapes.ResolveReshape(inputs[0], Shape);
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => x[0].Buffer.CopyTo(y.Buffer, 0);
        internal override Expr?[] Backward(Expr g) => [new ReshapeLike(g, X)];
        public override string BackwardName => "ViewBackward0";
    }

    /// <summary>
    /// The data of X under the shape of Like. Gradients of shape ops are written with these "like" ops because
    /// a graph's shapes are known only when its variables are bound.
    /// </summary>
    public sealed record ReshapeLike(Expr X, Expr Like) : Expr
    {
        public override Expr[] Inputs => [X, Like];
        internal override int[] InferShape(int[][] inputs) => Shapes.ResolveReshape(inputs[0], inputs[1]);
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => x[0].Buffer.CopyTo(y.Buffer, 0);
        internal override Expr?[] Backward(Expr g) => [new ReshapeLike(g, X), null];
        public override string BackwardName => "ViewBackward0";
    }

    /// <summary>Inserts an axis of length 1 (PyTorch's unsqueeze).</summary>
    public sealed record ExpandDims(Expr X, int Axis) : Expr
    {
        public override Expr[] Inputs => [X];
        internal override int[] InferShape(int[][] inputs)
        {
            var s = inputs[0].ToList();
            s.Insert(Shapes.NormalizeAxis(Axis, s.Count + 1), 1);
            return [.. s];
        }
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => x[0].Buffer.CopyTo(y.Buffer, 0);
        internal override Expr?[] Backward(Expr g) => [new ReshapeLike(g, X)];
        public override string BackwardName => "UnsqueezeBackward0";
    }

    /// <summary>X broadcast to the shape of Like (PyTorch's expand_as).</summary>
    public sealed record BroadcastLike(Expr X, Expr Like) : Expr
    {
        public override Expr[] Inputs => [X, Like];
        internal override int[] InferShape(int[][] inputs)
        {
            Shapes.CheckBroadcastsTo(inputs[0], inputs[1]);
            return inputs[1];
        }
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => Broadcast.To(x[0], y);
        internal override Expr?[] Backward(Expr g) => [new SumLike(g, X), null];
        public override string BackwardName => "ExpandBackward0";
    }

    /// <summary>X summed over the axes along which Like was broadcast to X's shape (autograd's unbroadcast).</summary>
    public sealed record SumLike(Expr X, Expr Like) : Expr
    {
        public override Expr[] Inputs => [X, Like];
        internal override int[] InferShape(int[][] inputs)
        {
            Shapes.CheckBroadcastsTo(inputs[1], inputs[0]);
            return inputs[1];
        }
        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => Broadcast.SumTo(x[0], y);
        internal override Expr?[] Backward(Expr g) => [new BroadcastLike(g, X), null];
        public override string BackwardName => "SumToSizeBackward0";
    }
}
