using DistributedBackprop.Core;

namespace DistributedBackprop.Core.Tests;

/// <summary>Float tanh and sigmoid through the vector exp: close to the double functions, exact in the limits, the same in every position.</summary>
public class ActivationTests
{
    // 37 values: four full vectors of 8 and a padded tail; from deep saturation through 0.
    private static readonly float[] Inputs = Enumerable.Range(0, 37).Select(i => (float)(-60 + i * 10.0 / 3)).Append(0f).Append(1e-8f).ToArray();

    [Fact]
    public void Float_tanh_is_within_a_few_ulps_of_one_and_exact_at_the_limits()
    {
        var y = new float[Inputs.Length];
        Activations.Tanh<float>(Inputs, y);
        for (int i = 0; i < Inputs.Length; i++) Assert.InRange(y[i] - Math.Tanh(Inputs[i]), -3e-7, 3e-7);
        Assert.Equal(-1f, y[0]);
        Assert.Equal(1f, y[^3]);
        Assert.Equal(0f, y[^2]);
    }

    [Fact]
    public void Float_sigmoid_is_within_a_few_ulps_of_one_and_exact_at_the_limits()
    {
        var y = new float[Inputs.Length];
        Activations.Sigmoid<float>(Inputs, y);
        for (int i = 0; i < Inputs.Length; i++) Assert.InRange(y[i] - 1 / (1 + Math.Exp(-Inputs[i])), -2e-7, 2e-7);
        Assert.InRange(y[0], 0f, 1e-25f); // exp(60) still fits a float
        Assert.Equal(1f, y[^3]);
        Assert.Equal(0.5f, y[^2]);
    }

    [Fact]
    public void An_element_gets_the_same_bits_wherever_it_sits_and_in_place()
        => TestData.AssertPositionIndependent(Activations.Tanh<float>, Inputs);

    [Fact]
    public void The_vector_exp_is_within_two_ulps_and_keeps_nan()
    {
        for (float start = -87f; start < 88f; start += 0.37f)
        {
            var x = new System.Numerics.Vector<float>(start);
            float y = Activations.Exp(x)[0];
            double exact = Math.Exp(start);
            Assert.InRange(Math.Abs(y - exact) / exact, 0, 2.5e-7);
        }
        Assert.True(float.IsNaN(Activations.Exp(new System.Numerics.Vector<float>(float.NaN))[0]));
        var tanh = new float[9];
        Activations.Tanh<float>([float.NaN, 0, 0, 0, 0, 0, 0, 0, float.NaN], tanh);
        Assert.True(float.IsNaN(tanh[0]) && float.IsNaN(tanh[8])); // a diverging run must still see its NaN
    }

    [Fact]
    public void The_512_bit_tanh_and_exp_give_the_bits_of_the_256_bit_ones()
    {
        // Every length to 70 (full vectors of 16 and 32 and padded tails), values from saturation through
        // subnormals, signed zeros, infinities and NaN.
        var values = Enumerable.Range(0, 70).Select(i => (float)(-45 + i * 1.37)).Concat([0f, -0f, 1e-40f, -1e-40f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 88.5f, -88f]).ToArray();
        for (int length = 0; length <= values.Length; length++)
        {
            var x = values.AsSpan(values.Length - length).ToArray();
            var wide = new float[length];
            var narrow = new float[length];
            Activations.Tanh<float>(x, wide); // the 512-bit loop where the CPU has it
            Lanes.Map<float, Activations.TanhOf>(x, narrow);
            for (int i = 0; i < length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(wide[i]) == BitConverter.SingleToInt32Bits(narrow[i]), $"tanh({x[i]:R}): {wide[i]:R} against {narrow[i]:R}");
        }
        if (!System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) return;
        foreach (var v in values)
        {
            float e512 = Activations.Exp(System.Runtime.Intrinsics.Vector512.Create(v))[0], e256 = Activations.Exp(new System.Numerics.Vector<float>(v))[0];
            Assert.True(BitConverter.SingleToInt32Bits(e512) == BitConverter.SingleToInt32Bits(e256), $"exp({v:R}): {e512:R} against {e256:R}");
        }
    }
}
