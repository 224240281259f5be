using System.Numerics;
using System.Runtime.CompilerServices;

namespace DistributedBackprop.Core;

/// <summary>
/// A node of an immutable expression graph: a closed union whose cases are the sealed records in
/// <see cref="Op"/>. Graphs are DAGs — a shared subexpression is the same object — so a node's identity is
/// its reference: equality and hashing are by reference (value equality would merge equal subtrees and hash
/// whole graphs), and every dictionary keyed by node uses <see cref="ReferenceEqualityComparer"/>.
/// Each case keeps its forward rule and its vector-Jacobian product side by side.
/// </summary>
public abstract partial record Expr
{
    public abstract Expr[] Inputs { get; }

    /// <summary>The shape of this node's value, given its inputs' shapes; throws <see cref="ShapeException"/>.</summary>
    internal abstract int[] InferShape(int[][] inputs);

    /// <summary>Writes this node's value into <paramref name="y"/>, whose shape <see cref="InferShape"/> gave.</summary>
    internal abstract void Forward<T>(Tensor<T>[] x, Tensor<T> y) where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>
    /// The vector-Jacobian product: given <paramref name="g"/>, the gradient flowing into this node, one
    /// gradient expression per input (null where the input gets none). Built from Exprs, so gradients can be
    /// differentiated again.
    /// </summary>
    internal abstract Expr?[] Backward(Expr g);

    /// <summary>The name PyTorch gives this node's backward function, as torchviz draws it.</summary>
    public abstract string BackwardName { get; }

    public virtual bool Equals(Expr? other) => ReferenceEquals(this, other);
    public override int GetHashCode() => RuntimeHelpers.GetHashCode(this);
    public sealed override string ToString() => Printer.Print(this);

    public static implicit operator Expr(double value) => new Op.Constant(value);
    public static Expr operator +(Expr a, Expr b) => new Op.Add(a, b);
    public static Expr operator -(Expr a, Expr b) => new Op.Sub(a, b);
    public static Expr operator *(Expr a, Expr b) => new Op.Mul(a, b);
    public static Expr operator /(Expr a, Expr b) => new Op.Div(a, b);
    public static Expr operator -(Expr a) => new Op.Neg(a);

    public static Op.Variable Variable(string name, bool requiresGrad = true) => new(name, requiresGrad);
    public static Op.Constant Constant<T>(Tensor<T> value) where T : unmanaged, IFloatingPointIeee754<T> => new(value.Cast<double>());
    /// <summary><c>x^p</c> for a constant exponent (PyTorch's PowBackward0).</summary>
    public static Expr Pow(Expr x, double p) => new Op.PowConst(x, p);
    /// <summary><c>a^b</c> for a tensor exponent (PyTorch's PowBackward1).</summary>
    public static Expr Pow(Expr a, Expr b) => b is Op.Constant { Value.Length: 1 } c ? new Op.PowConst(a, c.Value.Buffer[0]) : new Op.Pow(a, b);
    public static Expr Exp(Expr x) => new Op.Exp(x);
    public static Expr Log(Expr x) => new Op.Log(x);
    public static Expr Sqrt(Expr x) => new Op.Sqrt(x);
    public static Expr Sin(Expr x) => new Op.Sin(x);
    public static Expr Cos(Expr x) => new Op.Cos(x);
    public static Expr Tanh(Expr x) => new Op.Tanh(x);
    public static Expr Sigmoid(Expr x) => new Op.Sigmoid(x);
    public static Expr Relu(Expr x) => new Op.Relu(x);
    public static Expr MatMul(Expr a, Expr b, bool transA = false, bool transB = false) => new Op.MatMul(a, b, transA, transB);
    public static Expr Transpose(Expr x) => new Op.Transpose(x);
    public static Expr Reshape(Expr x, params int[] shape) => new Op.Reshape(x, shape);
    /// <summary>Sum of all elements (a scalar), or along one axis.</summary>
    public static Expr Sum(Expr x, int? axis = null, bool keepDims = false) => new Op.Sum(x, axis, keepDims);
    public static Expr Mean(Expr x, int? axis = null, bool keepDims = false) => new Op.Mean(x, axis, keepDims);
    public static Expr LogSoftmax(Expr x, int axis = -1) => new Op.LogSoftmax(x, axis);
    public static Expr Square(Expr x) => new Op.PowConst(x, 2);
}
