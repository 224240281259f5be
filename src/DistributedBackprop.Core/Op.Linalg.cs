using System.Numerics;

namespace DistributedBackprop.Core;

public static partial class Op
{
    /// <summary>
    /// <c>op(A) op(B)</c> for matrices, op being an optional transpose folded into the BLAS call, so that
    /// <c>x Wᵀ</c> and the backward products never copy a transposed matrix.
    /// </summary>
    public sealed record MatMul(Expr A, Expr B, bool TransA = false, bool TransB = false) : Expr
    {
        public override Expr[] Inputs => [A, B];

        internal override int[] InferShape(int[][] inputs)
        {
            var (a, b) = (inputs[0], inputs[1]);
            if (a.Length != 2 || b.Length != 2)
                throw new ShapeException($"matmul takes two matrices, got shapes {Shapes.Format(a)} and {Shapes.Format(b)}");
            var (m, k) = TransA ? (a[1], a[0]) : (a[0], a[1]);
            var (k2, n) = TransB ? (b[1], b[0]) : (b[0], b[1]);
            if (k != k2)
                throw new ShapeException($"matmul of {Shapes.Format(a)}{(TransA ? "ᵀ" : "")} and {Shapes.Format(b)}{(TransB ? "ᵀ" : "")}: inner sizes {k} and {k2} differ");
            return [m, n];
        }

        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y)
        {
            int k = TransA ? x[0].Dims[0] : x[0].Dims[1];
            Blas.Gemm<T>(TransA, TransB, y.Dims[0], y.Dims[1], k, x[0].Buffer, x[1].Buffer, y.Buffer);
        }

        // C = op(A) op(B): dA = g op(B)ᵀ (transposed back when A was), dB = op(A)ᵀ g (likewise).
        internal override Expr?[] Backward(Expr g) =>
        [
            TransA ? new MatMul(B, g, TransB, true) : new MatMul(g, B, false, !TransB),
            TransB ? new MatMul(g, A, true, TransA) : new MatMul(A, g, !TransA, false),
        ];

        public override string BackwardName => "MmBackward0";
    }

    /// <summary>Matrix transpose.</summary>
    public sealed record Transpose(Expr X) : Expr
    {
        public override Expr[] Inputs => [X];

        internal override int[] InferShape(int[][] inputs) => inputs[0].Length == 2
            ? [inputs[0][1], inputs[0][0]]
            : throw new ShapeException($"transpose takes a matrix, got shape {Shapes.Format(inputs[0])}");

        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y)
        {
            int rows = x[0].Dims[0], cols = x[0].Dims[1];
            var src = x[0].Buffer;
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < cols; j++)
                    y.Buffer[j * rows + i] = src[i * cols + j];
        }

        internal override Expr?[] Backward(Expr g) => [new Transpose(g)];
        public override string BackwardName => "TBackward0";
    }
}
