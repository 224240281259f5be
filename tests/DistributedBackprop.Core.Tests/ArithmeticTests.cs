using DistributedBackprop.Core;
using static DistributedBackprop.Core.Expr;

namespace DistributedBackprop.Core.Tests;

/// <summary>The span arithmetic under +, -, ×, ÷: every element as the scalar operation gives it, vector part and tail alike.</summary>
public class ArithmeticTests
{
    private static float[] Values(int n, int seed)
    {
        var rng = new Random(seed);
        // Awkward values too: signed zeros, infinities, NaN, subnormals, so that 0/0 and inf-inf meet the vector lanes.
        float[] odd = [0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 1e-40f, -3.5f, 7f];
        return [.. Enumerable.Range(0, n).Select(i => i % 5 == 0 ? odd[rng.Next(odd.Length)] : (float)(rng.NextDouble() * 20 - 10))];
    }

    public static TheoryData<string> Operations => new() { "+", "-", "*", "/" };

    private static float Scalar(string op, float a, float b) => op switch { "+" => a + b, "-" => a - b, "*" => a * b, _ => a / b };

    private static void Run(string op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> d)
    {
        switch (op)
        {
            case "+": AddKernel<float>.Run(a, b, d); break;
            case "-": SubKernel<float>.Run(a, b, d); break;
            case "*": MulKernel<float>.Run(a, b, d); break;
            default: DivKernel<float>.Run(a, b, d); break;
        }
    }

    private static void Run(string op, ReadOnlySpan<float> a, float b, Span<float> d)
    {
        switch (op)
        {
            case "+": AddKernel<float>.Run(a, b, d); break;
            case "-": SubKernel<float>.Run(a, b, d); break;
            case "*": MulKernel<float>.Run(a, b, d); break;
            default: DivKernel<float>.Run(a, b, d); break;
        }
    }

    private static void Run(string op, float a, ReadOnlySpan<float> b, Span<float> d)
    {
        switch (op)
        {
            case "+": AddKernel<float>.Run(a, b, d); break;
            case "-": SubKernel<float>.Run(a, b, d); break;
            case "*": MulKernel<float>.Run(a, b, d); break;
            default: DivKernel<float>.Run(a, b, d); break;
        }
    }

    [Theory, MemberData(nameof(Operations))]
    public void Every_length_gives_each_element_as_the_scalar_operation(string op)
    {
        for (int n = 0; n <= 41; n++)
        {
            var (a, b) = (Values(n, n), Values(n, 100 + n));
            var (d, left, right) = (new float[n], new float[n], new float[n]);
            Run(op, a, b, d);
            Run(op, a, 2.5f, left);
            Run(op, -1.25f, b, right);
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(BitConverter.SingleToInt32Bits(Scalar(op, a[i], b[i])), BitConverter.SingleToInt32Bits(d[i]));
                Assert.Equal(BitConverter.SingleToInt32Bits(Scalar(op, a[i], 2.5f)), BitConverter.SingleToInt32Bits(left[i]));
                Assert.Equal(BitConverter.SingleToInt32Bits(Scalar(op, -1.25f, b[i])), BitConverter.SingleToInt32Bits(right[i]));
            }
        }
    }

    [Theory, MemberData(nameof(Operations))]
    public void The_output_may_be_an_input(string op)
    {
        var (a, b) = (Values(37, 1), Values(37, 2));
        var expected = a.Zip(b, (x, y) => Scalar(op, x, y)).ToArray();
        var inPlace = (float[])a.Clone();
        Run(op, inPlace, b, inPlace);
        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), inPlace.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Lengths_that_differ_are_refused()
    {
        Assert.Throws<ShapeException>(() => AddKernel<float>.Run(new float[8], new float[9], new float[8]));
        Assert.Throws<ShapeException>(() => MulKernel<float>.Run(new float[8], 1f, new float[7]));
        Assert.Throws<ShapeException>(() => DivKernel<float>.Run(1f, new float[3], new float[4]));
    }

    [Fact]
    public void Powers_one_and_two_are_the_value_and_its_square()
    {
        var x = Tensor<float>.FromArray(Values(29, 7), 29);
        var bindings = new Dictionary<string, Tensor<float>> { ["x"] = x };
        var one = Backprop.Evaluate(new Op.PowConst(Variable("x"), 1), bindings).ToArray();
        var two = Backprop.Evaluate(new Op.PowConst(Variable("x"), 2), bindings).ToArray();
        Assert.Equal(x.ToArray().Select(BitConverter.SingleToInt32Bits), one.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(x.ToArray().Select(v => BitConverter.SingleToInt32Bits(v * v)), two.Select(BitConverter.SingleToInt32Bits));
    }
}
