using System.Globalization;
using System.Numerics;
using System.Text;

namespace DistributedBackprop.Core;

/// <summary>
/// An immutable n-dimensional array: a shape and row-major data. Training runs in <c>float</c>,
/// gradient checks in <c>double</c>. The buffer is written only by the engine that creates it, before
/// anyone else sees the tensor (or inside a compiled plan's own buffers).
/// </summary>
public sealed class Tensor<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal readonly T[] Buffer;
    internal readonly int[] Dims;

    /// <summary>Takes ownership of <paramref name="buffer"/>: callers must not write to it afterwards.</summary>
    internal Tensor(T[] buffer, int[] dims)
    {
        if (buffer.Length != Shapes.Size(dims))
            throw new ArgumentException($"data of length {buffer.Length} does not fill shape {Shapes.Format(dims)}");
        Buffer = buffer;
        Dims = dims;
    }

    /// <summary>The elements in row-major order.</summary>
    public ReadOnlySpan<T> Data => Buffer;
    /// <summary>The length of each axis; empty for a scalar.</summary>
    public ReadOnlySpan<int> Shape => Dims;
    /// <summary>The number of axes: 0 for a scalar.</summary>
    public int Rank => Dims.Length;
    /// <summary>The number of elements.</summary>
    public int Length => Buffer.Length;

    /// <summary>A tensor of rank 0 holding <paramref name="value"/>.</summary>
    public static Tensor<T> Scalar(T value) => new([value], []);
    /// <summary>A tensor of rank 0 holding <paramref name="value"/>, converted to <typeparamref name="T"/>.</summary>
    public static Tensor<T> Scalar(double value) => Scalar(T.CreateChecked(value));
    /// <summary>A copy of <paramref name="data"/> (row-major) under <paramref name="shape"/>.</summary>
    public static Tensor<T> FromArray(ReadOnlySpan<T> data, params int[] shape) => new(data.ToArray(), (int[])shape.Clone());
    /// <summary>A vector (rank 1) holding a copy of <paramref name="data"/>.</summary>
    public static Tensor<T> Vector(params T[] data) => new((T[])data.Clone(), [data.Length]);
    /// <summary>Zeros of the given shape.</summary>
    public static Tensor<T> Zeros(params int[] shape) => new(new T[Shapes.Size(shape)], (int[])shape.Clone());
    /// <summary><paramref name="value"/> in every element of the given shape.</summary>
    public static Tensor<T> Filled(T value, params int[] shape)
    {
        var data = new T[Shapes.Size(shape)];
        Array.Fill(data, value);
        return new(data, (int[])shape.Clone());
    }

    /// <summary>A matrix from rows of equal length.</summary>
    public static Tensor<T> FromRows(T[][] rows)
    {
        int cols = rows.Length == 0 ? 0 : rows[0].Length;
        var data = new T[rows.Length * cols];
        for (int i = 0; i < rows.Length; i++)
        {
            if (rows[i].Length != cols) throw new ArgumentException("rows of a matrix must have equal length");
            rows[i].CopyTo(data, i * cols);
        }
        return new(data, [rows.Length, cols]);
    }

    /// <summary>The element at one index per axis.</summary>
    [System.Runtime.CompilerServices.IndexerName("At")]
    public T this[params int[] index] => Buffer[Shapes.Offset(Dims, index)];

    /// <summary>The single value of a tensor with one element (PyTorch's <c>item()</c>).</summary>
    public T Item() => Length == 1 ? Buffer[0] : throw new InvalidOperationException($"item() needs one element, the tensor has shape {Shapes.Format(Dims)}");

    /// <summary>The same values in another element type (this tensor itself where the type is the same).</summary>
    public Tensor<TOut> Cast<TOut>() where TOut : unmanaged, IFloatingPointIeee754<TOut>
    {
        if (this is Tensor<TOut> same) return same;
        var data = new TOut[Buffer.Length];
        for (int i = 0; i < data.Length; i++) data[i] = TOut.CreateChecked(Buffer[i]);
        return new(data, Dims);
    }

    /// <summary>The same data under another shape with as many elements; one axis may be -1.</summary>
    public Tensor<T> Reshape(params int[] shape) => new(Buffer, Shapes.ResolveReshape(Dims, shape));

    /// <summary>A copy of the elements in row-major order.</summary>
    public T[] ToArray() => (T[])Buffer.Clone();

    /// <summary>PyTorch's look: <c>tensor([7.])</c>, four decimals where any value is fractional.</summary>
    public override string ToString() => "tensor(" + Format(4) + ")";

    /// <summary>The elements as PyTorch prints them (nested brackets, rows aligned), with <paramref name="decimals"/> decimals.</summary>
    public string Format(int decimals)
    {
        bool integral = Buffer.All(v => T.IsInteger(v));
        string One(T v) => integral
            ? double.CreateChecked(v).ToString("0", CultureInfo.InvariantCulture) + "."
            : double.CreateChecked(v).ToString("F" + decimals, CultureInfo.InvariantCulture);
        var text = Buffer.Select(One).ToArray();
        int width = text.Length == 0 ? 0 : text.Max(s => s.Length);
        var sb = new StringBuilder();
        int pos = 0;
        void Write(int axis)
        {
            if (axis == Dims.Length) { sb.Append(text[pos++].PadLeft(Dims.Length == 0 ? 0 : width)); return; }
            sb.Append('[');
            for (int i = 0; i < Dims[axis]; i++)
            {
                if (i > 0) sb.Append(axis == Dims.Length - 1 ? ", " : ",\n" + new string(' ', axis + 8));
                Write(axis + 1);
            }
            sb.Append(']');
        }
        Write(0);
        return sb.ToString();
    }
}
