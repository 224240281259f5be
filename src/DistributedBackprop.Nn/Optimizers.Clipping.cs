using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace DistributedBackprop.Nn;

// Gradient clipping by global norm, inside the sums-and-scale interface.
public abstract partial record Optimizer
{
    /// <summary>
    /// torch.nn.utils.clip_grad_norm_(max_norm) before every step: where the L2 norm of the mean gradient over
    /// all parameters exceeds it, the gradient is scaled by max_norm / (norm + 1e-6). 0 turns clipping off.
    /// </summary>
    public double MaxGradNorm { get; init; }

    /// <summary>
    /// The factor the step reads gradients with, clipped: a first pass over the sums finds the norm of the
    /// mean gradient, sqrt(Σ sum²)·scale, in double and in a fixed order (<see cref="SumOfSquares{T}(Gradient{T})"/>), so
    /// every engine clips by the same factor; the step's own pass then folds it into <paramref name="scale"/>.
    /// A non-finite norm leaves the scale alone: the step's finite check refuses such a step anyway.
    /// </summary>
    private T ClippedScale<T>(int count, Func<int, ReadOnlySpan<T>> gradients, Func<int, ReadOnlySpan<T>>? addends, T scale) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double sumOfSquares = 0;
        for (int i = 0; i < count; i++) sumOfSquares += SumOfSquares(GradientAt(gradients, addends, i));
        double s = double.CreateChecked(scale), norm = Math.Sqrt(sumOfSquares) * s;
        return norm > MaxGradNorm ? T.CreateChecked(s * (MaxGradNorm / (norm + 1e-6))) : scale;
    }

    /// <summary>
    /// Σ g² in double: eight lanes of <see cref="Vector256{T}"/>, a fixed width whatever the hardware (emulated
    /// lane by lane where it is not native, with the same results), the lanes added pairwise in a fixed order,
    /// then the elements left over in order.
    /// </summary>
    internal static double SumOfSquares<T>(ReadOnlySpan<T> g) where T : unmanaged, IFloatingPointIeee754<T> => SumOfSquares((Gradient<T>)g);

    /// <summary>The same for a gradient in two parts: the squares of their sums, in the same order.</summary>
    internal static double SumOfSquares<T>(Gradient<T> g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector256<double> lo = Vector256<double>.Zero, hi = Vector256<double>.Zero;
        int i = 0;
        ReadOnlySpan<T> first = g.First, second = g.Second;
        bool paired = g.Paired;
        if (typeof(T) == typeof(float))
        {
            ReadOnlySpan<float> f = MemoryMarshal.Cast<T, float>(first), f2 = MemoryMarshal.Cast<T, float>(second);
            for (; i + 8 <= f.Length; i += 8)
            {
                var x = Vector256.Create(f.Slice(i, 8));
                var (a, b) = Vector256.Widen(paired ? x + Vector256.Create(f2.Slice(i, 8)) : x);
                lo += a * a;
                hi += b * b;
            }
        }
        else if (typeof(T) == typeof(double))
        {
            ReadOnlySpan<double> d = MemoryMarshal.Cast<T, double>(first), d2 = MemoryMarshal.Cast<T, double>(second);
            for (; i + 8 <= d.Length; i += 8)
            {
                var (a, b) = (Vector256.Create(d.Slice(i, 4)), Vector256.Create(d.Slice(i + 4, 4)));
                if (paired) (a, b) = (a + Vector256.Create(d2.Slice(i, 4)), b + Vector256.Create(d2.Slice(i + 4, 4)));
                lo += a * a;
                hi += b * b;
            }
        }
        var lanes = lo + hi;
        double sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
        for (; i < g.Length; i++)
        {
            double v = double.CreateChecked(g[i]);
            sum += v * v;
        }
        return sum;
    }
}
