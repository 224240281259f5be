using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DistributedBackprop.Core;

public static partial class Op
{
    /// <summary>
    /// <c>op(A) op(B)</c>, op being an optional transpose folded into the BLAS call, so that <c>x Wᵀ</c> and
    /// the backward products never copy a transposed matrix. An operand that is not a matrix is read as one
    /// by folding its leading axes into rows (a vector is one row), and a product whose A was such an operand,
    /// untransposed, keeps A's leading axes: <c>x Wᵀ</c> is PyTorch's linear for inputs of any rank.
    /// </summary>
    public sealed record MatMul(Expr A, Expr B, bool TransA = false, bool TransB = false) : Expr
    {
        public override Expr[] Inputs => [A, B];

        private static (int Rows, int Cols) AsMatrix(int[] s) => s.Length switch
        {
            0 => throw new ShapeException("matmul of a scalar"),
            2 => (s[0], s[1]),
            _ => (Shapes.Size(s.AsSpan(0, s.Length - 1)), s[^1]),
        };

        internal override int[] InferShape(int[][] inputs)
        {
            var (a, b) = (inputs[0], inputs[1]);
            var (ar, ac) = AsMatrix(a);
            var (br, bc) = AsMatrix(b);
            var (m, k) = TransA ? (ac, ar) : (ar, ac);
            var (k2, n) = TransB ? (bc, br) : (br, bc);
            if (k != k2)
                throw new ShapeException($"matmul of {Shapes.Format(a)}{(TransA ? "ᵀ" : "")} and {Shapes.Format(b)}{(TransB ? "ᵀ" : "")}: inner sizes {k} and {k2} differ");
            return !TransA && a.Length != 2 ? [.. a[..^1], n] : [m, n];
        }

        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y)
        {
            var (ar, ac) = AsMatrix(x[0].Dims);
            var (br, bc) = AsMatrix(x[1].Dims);
            var (m, k) = TransA ? (ac, ar) : (ar, ac);
            int n = TransB ? br : bc;
            Blas.Gemm<T>(TransA, TransB, m, n, k, x[0].Buffer, x[1].Buffer, y.Buffer);
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

        internal override void Forward<T>(Tensor<T>[] x, Tensor<T> y) => Into<T>(x[0].Buffer, x[0].Dims[0], x[0].Dims[1], y.Buffer);

        /// <summary>The [cols, rows] transpose of the row-major [rows, cols] matrix <paramref name="x"/>, into <paramref name="y"/>.</summary>
        internal static void Into<T>(ReadOnlySpan<T> x, int rows, int cols, Span<T> y)
        {
            if (x.Length < rows * cols || y.Length < rows * cols) throw new ShapeException($"a transpose of {rows}x{cols} needs {rows * cols} elements, got {x.Length} and {y.Length}");
            // Unchecked indexing, the lengths checked once above: a small product's transposed weights are
            // copied at every call, and the bounds checks were most of a 32x32 copy's time.
            ref T rx = ref MemoryMarshal.GetReference(x), ry = ref MemoryMarshal.GetReference(y);
            // Along y's rows (the other order measured the same).
            for (nint j = 0; j < cols; j++)
            {
                ref T row = ref Unsafe.Add(ref ry, j * rows);
                for (nint i = 0; i < rows; i++) Unsafe.Add(ref row, i) = Unsafe.Add(ref rx, i * cols + j);
            }
        }

        internal override Expr?[] Backward(Expr g) => [new Transpose(g)];
        public override string BackwardName => "TBackward0";
    }
}
