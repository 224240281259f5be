using DistributedBackprop.Core;
using static DistributedBackprop.Core.Expr;
using static DistributedBackprop.Core.Tests.TestData;

namespace DistributedBackprop.Core.Tests;

/// <summary>The compiled path gives what the pure engine gives, bit for bit, and allocates nothing per run.</summary>
public class PlanTests
{
    private static readonly Op.Variable A = Variable("a"), B = Variable("b");

    public static TheoryData<string> Names => GradCheckTests.Names;

    [Theory]
    [MemberData(nameof(Names))]
    public void Compiled_values_and_gradients_equal_the_pure_engine(string name)
    {
        var c = GradCheckTests.Cases[name];
        var f = Sum(c.F);
        foreach (var seed in new[] { 1, 7 }) // run twice with new inputs: buffers are reused correctly
        {
            var at = At(("a", Uniform(seed, c.Lo, c.Hi, c.ShapeA)), ("b", Uniform(seed + 1, c.Lo, c.Hi, c.ShapeB)));
            var plan = Backprop.CompileGradients<double>(f, [A, B], at.ToDictionary(kv => kv.Key, kv => kv.Value.Shape.ToArray()));
            var pure = Backprop.Gradients(f, at);
            for (int round = 0; round < 2; round++)
            {
                plan.Run(at);
                Assert.Equal(pure.Value().ToArray(), plan.Output(0).ToArray());
                Assert.Equal(pure.OfOrZero(A).ToArray(), plan.Output(1).ToArray());
                Assert.Equal(pure.OfOrZero(B).ToArray(), plan.Output(2).ToArray());
            }
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Compiled_float_values_and_gradients_equal_the_pure_engine(string name)
    {
        // Float has its own kernels (tanh, sigmoid and GELU through our vector code): the same bits there too.
        var c = GradCheckTests.Cases[name];
        var f = Sum(c.F);
        var at = new Dictionary<string, Tensor<float>> { ["a"] = Uniform(3, c.Lo, c.Hi, c.ShapeA).Cast<float>(), ["b"] = Uniform(4, c.Lo, c.Hi, c.ShapeB).Cast<float>() };
        var plan = Backprop.CompileGradients<float>(f, [A, B], at.ToDictionary(kv => kv.Key, kv => kv.Value.Shape.ToArray()));
        var pure = Backprop.Gradients(f, at);
        plan.Run(at);
        Assert.Equal(pure.Value().ToArray(), plan.Output(0).ToArray());
        Assert.Equal(pure.OfOrZero(A).ToArray(), plan.Output(1).ToArray());
        Assert.Equal(pure.OfOrZero(B).ToArray(), plan.Output(2).ToArray());
    }

    [Fact]
    public void A_plan_is_reused_with_new_inputs_of_the_same_shape()
    {
        var f = Sum(Tanh(MatMul(A, B, transB: true) + 1.0));
        var shapes = new Dictionary<string, int[]> { ["a"] = [4, 3], ["b"] = [2, 3] };
        var plan = Backprop.CompileGradients<float>(f, [A, B], shapes);
        for (int seed = 0; seed < 3; seed++)
        {
            var at = new Dictionary<string, Tensor<float>> { ["a"] = Uniform(seed, -1, 1, 4, 3).Cast<float>(), ["b"] = Uniform(seed + 10, -1, 1, 2, 3).Cast<float>() };
            plan.Run(at);
            var pure = Backprop.Gradients(f, at);
            Assert.Equal(pure.Value().ToArray(), plan.Output(0).ToArray());
            Assert.Equal(pure.OfOrZero(B).ToArray(), plan.Output(2).ToArray());
        }
    }

    [Fact]
    public void A_steady_state_run_allocates_nothing()
    {
        // The shape of a training step: linear layers with biases, tanh, mean squared error.
        var (x, y, w1, b1, w2, b2) = (Variable("x", false), Variable("y", false), Variable("w1"), Variable("b1"), Variable("w2"), Variable("b2"));
        var loss = Mean(Square(MatMul(Tanh(MatMul(x, w1, transB: true) + b1), w2, transB: true) + b2 - y));
        var at = new Dictionary<string, Tensor<float>>
        {
            ["x"] = Uniform(1, 0, 1, 16, 1).Cast<float>(), ["y"] = Uniform(2, -1, 1, 16, 1).Cast<float>(),
            ["w1"] = Uniform(3, -1, 1, 8, 1).Cast<float>(), ["b1"] = Uniform(4, -1, 1, 8).Cast<float>(),
            ["w2"] = Uniform(5, -1, 1, 1, 8).Cast<float>(), ["b2"] = Uniform(6, -1, 1, 1).Cast<float>(),
        };
        var plan = Backprop.CompileGradients<float>(loss, [w1, b1, w2, b2], at.ToDictionary(kv => kv.Key, kv => kv.Value.Shape.ToArray()));
        plan.Run(at); // warm up: first calls may allocate in the runtime
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) plan.Run(at);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void A_steady_state_run_of_the_newer_ops_allocates_nothing()
    {
        // Layer norm from primitives (per-row means kept as [n, 1]), GELU, leaky ReLU, a dropout mask, and the
        // losses built on abs, minimum, softplus and one-hot rows.
        var (x, mask, y, classes, w, b) = (Variable("x", false), Variable("mask", false), Variable("y", false), Variable("classes", false), Variable("w"), Variable("b"));
        var centred = x - Mean(x, -1, keepDims: true);
        var normed = centred / Sqrt(Mean(Square(centred), -1, keepDims: true) + 1e-5) * w + b;
        var h = LeakyRelu(Gelu(normed) * mask, 0.1);
        var a = Abs(h - y);
        var q = Minimum(a, 1.0);
        var loss = Sum(a) + Sum(0.5 * q * q + (a - q)) + Sum(Softplus(h) - h * y) - Sum(OneHot(classes, h) * LogSoftmax(h, 1));
        var at = new Dictionary<string, Tensor<float>>
        {
            ["x"] = Uniform(1, -2, 2, 16, 8).Cast<float>(), ["mask"] = Uniform(2, 0, 2, 16, 8).Cast<float>(), ["y"] = Uniform(3, 0, 1, 16, 8).Cast<float>(),
            ["classes"] = Tensor<float>.FromArray(Enumerable.Range(0, 16).Select(i => (float)(i % 8)).ToArray(), 16),
            ["w"] = Uniform(4, 0.5, 1.5, 8).Cast<float>(), ["b"] = Uniform(5, -1, 1, 8).Cast<float>(),
        };
        var plan = Backprop.CompileGradients<float>(loss, [w, b], at.ToDictionary(kv => kv.Key, kv => kv.Value.Shape.ToArray()));
        plan.Run(at);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) plan.Run(at);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        var pure = Backprop.Gradients(loss, at);
        Assert.Equal(pure.Value().ToArray(), plan.Output(0).ToArray());
        Assert.Equal(pure.OfOrZero(w).ToArray(), plan.Output(1).ToArray());
    }

    [Fact]
    public void A_binding_of_the_wrong_shape_is_refused()
    {
        var plan = Plan<double>.Compile([Sum(A * B)], new Dictionary<string, int[]> { ["a"] = [3], ["b"] = [3] });
        Assert.Throws<ShapeException>(() => plan.Run(At(("a", Tensor<double>.Zeros(4)), ("b", Tensor<double>.Zeros(3)))));
        Assert.Throws<UnboundVariableException>(() => plan.Run(At(("a", Tensor<double>.Zeros(3)))));
    }
}
