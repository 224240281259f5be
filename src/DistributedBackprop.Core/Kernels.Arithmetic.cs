using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DistributedBackprop.Core;

/// <summary>
/// One of IEEE's correctly rounded operations (+, -, ×, ÷) on two numbers, as a vector and as a scalar: both
/// give the same bits lane by lane, so a span's tail needs no padded copy.
/// </summary>
internal interface IArithmetic<T> : IVectorMap2<T> where T : unmanaged
{
    static abstract T Apply(T a, T b);
}

/// <summary>
/// Element-wise arithmetic over spans with <see cref="Vector{T}"/>, a plain loop. System.Numerics.Tensors'
/// forms of the same (Add, Multiply, ...) give the same bits, but each of their instantiations is a large
/// method with 128-, 256- and 512-bit paths and a jump table for short spans: 3-15 ms of JIT apiece at the
/// start of every run (measured with the runtime's JIT events), more than these kernels save on the short
/// rows (a 32-wide bias, 64 times) the notebook's layers add. Not <see cref="Lanes.Map{T, TMap}(ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T})"/>,
/// whose choice of broadcast operand in every step and padded tail measured 1.5-1.9x slower here (the bias
/// rows 269-328 ns against 483-522, 2048 elements times a scalar 93-120 against 190-193). The output may be an input.
/// </summary>
internal static class Arithmetic
{
    public static void Run<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged where TOp : IArithmetic<T>
    {
        if (a.Length != d.Length || b.Length != d.Length) throw new ShapeException($"an element-wise operation takes {a.Length} and {b.Length} elements into {d.Length}");
        ref T ra = ref MemoryMarshal.GetReference(a), rb = ref MemoryMarshal.GetReference(b), rd = ref MemoryMarshal.GetReference(d);
        nint n = d.Length, w = Vector<T>.Count, i = 0;
        for (; i + w <= n; i += w)
            TOp.Apply(Vector.LoadUnsafe(ref ra, (nuint)i), Vector.LoadUnsafe(ref rb, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref rd, i) = TOp.Apply(Unsafe.Add(ref ra, i), Unsafe.Add(ref rb, i));
    }

    public static void Run<T, TOp>(ReadOnlySpan<T> a, T b, Span<T> d) where T : unmanaged where TOp : IArithmetic<T>
    {
        if (a.Length != d.Length) throw new ShapeException($"an element-wise operation takes {a.Length} elements into {d.Length}");
        ref T ra = ref MemoryMarshal.GetReference(a), rd = ref MemoryMarshal.GetReference(d);
        nint n = d.Length, w = Vector<T>.Count, i = 0;
        var vb = new Vector<T>(b);
        for (; i + w <= n; i += w) TOp.Apply(Vector.LoadUnsafe(ref ra, (nuint)i), vb).StoreUnsafe(ref rd, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref rd, i) = TOp.Apply(Unsafe.Add(ref ra, i), b);
    }

    public static void Run<T, TOp>(T a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged where TOp : IArithmetic<T>
    {
        if (b.Length != d.Length) throw new ShapeException($"an element-wise operation takes {b.Length} elements into {d.Length}");
        ref T rb = ref MemoryMarshal.GetReference(b), rd = ref MemoryMarshal.GetReference(d);
        nint n = d.Length, w = Vector<T>.Count, i = 0;
        var va = new Vector<T>(a);
        for (; i + w <= n; i += w) TOp.Apply(va, Vector.LoadUnsafe(ref rb, (nuint)i)).StoreUnsafe(ref rd, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref rd, i) = TOp.Apply(a, Unsafe.Add(ref rb, i));
    }
}
