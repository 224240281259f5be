using System.Numerics;

namespace DistributedBackprop.Core;

public static partial class Op
{
    /// <summary>
    /// One-hot rows of <paramref name="Like"/>'s shape [..., classes] from class indices [...] held as whole
    /// numbers in the element type: targets travel as one number an example, and the one-hot rows are made
    /// where they are used. The classes are data, so neither input gets a gradient.
    /// </summary>
    public sealed record OneHot(Expr Classes, Expr Like) : Expr
    {
        public override Expr[] Inputs => [Classes, Like];

        internal override int[] InferShape(int[][] inputs)
        {
            var (classes, like) = (inputs[0], inputs[1]);
            if (like.Length == 0 || !Shapes.Equal(classes, like.AsSpan(0, like.Length - 1)))
                throw new ShapeException($"class indices of shape {Shapes.Format(classes)} do not index the last axis of {Shapes.Format(like)}");
            return like;
        }

        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y)
        {
            Array.Clear(y.Buffer);
            int count = y.Dims[^1];
            var classes = x[0].Buffer;
            for (int i = 0; i < classes.Length; i++)
            {
                T c = classes[i];
                if (!T.IsInteger(c) || c < T.Zero || c >= T.CreateChecked(count))
                    throw new ArgumentException($"class {c} is outside 0..{count - 1}");
                y.Buffer[i * count + int.CreateChecked(c)] = T.One;
            }
        }

        internal override Expr?[] Backward(Expr g) => [null, null];
        public override string BackwardName => "OneHot";
    }
}
