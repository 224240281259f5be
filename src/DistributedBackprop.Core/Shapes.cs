namespace DistributedBackprop.Core;

/// <summary>Shape arithmetic with NumPy's rules. A shape is an <c>int[]</c> that nobody writes after creation.</summary>
public static class Shapes
{
    /// <summary>The number of elements of a shape; refuses negative dimensions and more than int.MaxValue elements.</summary>
    public static int Size(ReadOnlySpan<int> shape)
    {
        long size = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ShapeException($"negative dimension in shape {Format(shape)}");
            size *= d;
            if (size > int.MaxValue) throw new ShapeException($"shape {Format(shape)} has too many elements");
        }
        return (int)size;
    }

    /// <summary>A shape as text: <c>[2, 3]</c>.</summary>
    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    /// <summary>Whether two shapes are the same.</summary>
    public static bool Equal(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);

    /// <summary>The row-major position of an index (one entry per axis) in a tensor of this shape.</summary>
    public static int Offset(ReadOnlySpan<int> shape, ReadOnlySpan<int> index)
    {
        if (index.Length != shape.Length) throw new ShapeException($"index of rank {index.Length} into shape {Format(shape)}");
        int offset = 0;
        for (int i = 0; i < shape.Length; i++)
        {
            if ((uint)index[i] >= (uint)shape[i]) throw new IndexOutOfRangeException($"index {index[i]} out of range for axis {i} of shape {Format(shape)}");
            offset = offset * shape[i] + index[i];
        }
        return offset;
    }

    /// <summary>The shape both operands broadcast to (NumPy: align trailing axes; 1 stretches).</summary>
    public static int[] Broadcast(ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            int db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
                throw new ShapeException($"shapes {Format(a)} and {Format(b)} do not broadcast");
            result[i] = da == 1 ? db : da;
        }
        return result;
    }

    /// <summary>Checks that <paramref name="small"/> broadcasts to exactly <paramref name="large"/>.</summary>
    public static void CheckBroadcastsTo(ReadOnlySpan<int> small, ReadOnlySpan<int> large)
    {
        if (!Equal(Broadcast(small, large), large))
            throw new ShapeException($"shape {Format(small)} does not broadcast to {Format(large)}");
    }

    /// <summary>Fills in one <c>-1</c> and checks the element count, as PyTorch's <c>reshape</c> does.</summary>
    public static int[] ResolveReshape(ReadOnlySpan<int> from, ReadOnlySpan<int> to)
    {
        var result = to.ToArray();
        int unknown = Array.IndexOf(result, -1);
        if (unknown >= 0 && Array.LastIndexOf(result, -1) != unknown) throw new ShapeException("reshape takes at most one -1");
        int total = Size(from);
        if (unknown >= 0)
        {
            result[unknown] = 1;
            int known = Size(result);
            if (known == 0 || total % known != 0) throw new ShapeException($"cannot reshape {Format(from)} to {Format(to)}");
            result[unknown] = total / known;
        }
        if (Size(result) != total) throw new ShapeException($"cannot reshape {Format(from)} to {Format(to)}");
        return result;
    }

    /// <summary>An axis counted from 0, where a negative one counts from the end; refuses one out of range.</summary>
    public static int NormalizeAxis(int axis, int rank)
    {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw new ShapeException($"axis {axis} is out of range for rank {rank}");
        return a;
    }

    /// <summary>Splits a shape around <paramref name="axis"/> into (outer, n, inner) element counts.</summary>
    public static (int Outer, int N, int Inner) AroundAxis(ReadOnlySpan<int> shape, int axis)
    {
        int outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= shape[i];
        for (int i = axis + 1; i < shape.Length; i++) inner *= shape[i];
        return (outer, shape[axis], inner);
    }
}

/// <summary>Operands whose shapes do not fit the operation.</summary>
public sealed class ShapeException(string message) : Exception(message);
