using DistributedBackprop.Core;
using static DistributedBackprop.Core.Expr;

namespace DistributedBackprop.Core.Tests;

public class TensorTests
{
    private static Tensor<double> Run(Expr e, params (string, Tensor<double>)[] at) => Backprop.Evaluate(e, at.ToDictionary(a => a.Item1, a => a.Item2));

    [Fact]
    public void Broadcasting_follows_numpy_rules()
    {
        var col = Tensor<double>.FromArray([1, 2, 3], 3, 1);
        var row = Tensor<double>.Vector(10, 20);
        var sum = Run(Variable("a") + Variable("b"), ("a", col), ("b", row));
        Assert.Equal([3, 2], sum.Shape.ToArray());
        Assert.Equal([11, 21, 12, 22, 13, 23], sum.ToArray());
    }

    [Fact]
    public void Broadcasting_in_the_middle_axis()
    {
        var a = Tensor<double>.FromArray([1, 2, 3, 4], 2, 1, 2);
        var b = Tensor<double>.FromArray([10, 20, 30], 3, 1);
        var d = Run(Variable("a") * Variable("b"), ("a", a), ("b", b));
        Assert.Equal([2, 3, 2], d.Shape.ToArray());
        Assert.Equal([10, 20, 20, 40, 30, 60, 30, 40, 60, 80, 90, 120], d.ToArray());
        // Unbroadcast: the gradient of sum(a*b) w.r.t. b sums a over the broadcast axes.
        var g = Backprop.Gradients(Sum(Variable("a") * Variable("b")), new Dictionary<string, Tensor<double>> { ["a"] = a, ["b"] = b });
        var gb = g.Of(Graph.TopologicalOrder([g.Output]).OfType<Op.Variable>().Single(v => v.Name == "b"))!;
        Assert.Equal([3, 1], gb.Shape.ToArray());
        Assert.Equal([10, 10, 10], gb.ToArray());
    }

    [Fact]
    public void Shapes_that_do_not_broadcast_are_refused_with_both_shapes_named()
    {
        var e = Assert.Throws<ShapeException>(() => Run(Variable("a") + Variable("b"), ("a", Tensor<double>.Zeros(2, 3)), ("b", Tensor<double>.Zeros(4))));
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("[4]", e.Message);
    }

    [Fact]
    public void Matmul_checks_inner_sizes() =>
        Assert.Throws<ShapeException>(() => Run(MatMul(Variable("a"), Variable("b")), ("a", Tensor<double>.Zeros(2, 3)), ("b", Tensor<double>.Zeros(2, 3))));

    [Fact]
    public void Reductions_along_axes()
    {
        var x = Tensor<double>.FromArray([1, 2, 3, 4, 5, 6], 2, 3);
        Assert.Equal([5, 7, 9], Run(Sum(Variable("x"), 0), ("x", x)).ToArray());
        Assert.Equal([2, 5], Run(Mean(Variable("x"), 1), ("x", x)).ToArray());
        Assert.Equal([2, 1], Run(Sum(Variable("x"), 1, keepDims: true), ("x", x)).Shape.ToArray());
        Assert.Equal(21, Run(Sum(Variable("x")), ("x", x)).Item());
    }

    [Fact]
    public void Log_softmax_is_stable_for_huge_logits()
    {
        var x = Tensor<double>.FromArray([1000, 0, -1000, 1e308], 2, 2);
        var y = Run(LogSoftmax(Variable("x"), 1), ("x", x)).ToArray();
        Assert.All(y, v => Assert.False(double.IsNaN(v)));
        Assert.Equal(0, y[0], 12);
        Assert.Equal(-1000, y[1], 12);
        Assert.Equal(0, y[3], 12);
    }

    [Fact]
    public void Tensors_print_like_pytorch()
    {
        Assert.Equal("tensor([7.])", Tensor<float>.Vector(7f).ToString());
        Assert.Equal("tensor([12.2500])", Tensor<float>.Vector(12.25f).ToString());
        Assert.Equal("tensor([[-0.0011,  0.0057],\n        [ 0.0043, -0.0191]])", Tensor<double>.FromArray([-0.0011, 0.0057, 0.0043, -0.0191], 2, 2).ToString());
    }

    [Fact]
    public void Bindings_are_not_changed_by_evaluation()
    {
        var x = Tensor<double>.Vector(1, 2, 3);
        var before = x.ToArray();
        Backprop.Gradients(Sum(Exp(Variable("x")) * Variable("x")), new Dictionary<string, Tensor<double>> { ["x"] = x });
        Assert.Equal(before, x.ToArray());
    }

    [Fact]
    public void Matmul_keeps_the_leading_axes_of_a_vector_or_batch_input()
    {
        var w = Tensor<double>.FromArray([1, 2, 3, 4, 5, 6], 2, 3);
        var v = Run(MatMul(Variable("x"), Variable("w"), transB: true), ("x", Tensor<double>.Vector(1, 0, -1)), ("w", w));
        Assert.Equal([2], v.Shape.ToArray());
        Assert.Equal([-2, -2], v.ToArray());
        var b = Run(MatMul(Variable("x"), Variable("w"), transB: true), ("x", Tensor<double>.Zeros(4, 5, 3)), ("w", w));
        Assert.Equal([4, 5, 2], b.Shape.ToArray());
    }

    [Fact]
    public void Rng_is_reproducible_and_uniform_enough()
    {
        var a = new Rng(7);
        var b = new Rng(7);
        Assert.Equal(Enumerable.Range(0, 5).Select(_ => a.NextUInt64()), Enumerable.Range(0, 5).Select(_ => b.NextUInt64()));
        var counts = new int[10];
        var r = new Rng(1);
        for (int i = 0; i < 100_000; i++) counts[r.NextInt(10)]++;
        Assert.All(counts, c => Assert.InRange(c, 9_500, 10_500));
        var restored = new Rng(r.State);
        Assert.Equal(r.NextDouble(), restored.NextDouble());
        var p = new Rng(3).Permutation(50);
        Assert.Equal(Enumerable.Range(0, 50), p.Order());
        Assert.NotEqual(Enumerable.Range(0, 50), p);
    }

    [Fact]
    public void Float_tanh_and_sigmoid_stay_within_float_precision_of_the_exact_values()
    {
        var xs = Enumerable.Range(-4000, 8001).Select(i => i / 200.0).Concat([1e-30, -1e-30, 88, -88, 1000, -1000]).ToArray();
        var x = Tensor<double>.FromArray(xs, xs.Length).Cast<float>();
        var at = new Dictionary<string, Tensor<float>> { ["x"] = x };
        var tanh = Backprop.Evaluate(Tanh(Variable("x")), at).ToArray();
        var sigmoid = Backprop.Evaluate(Sigmoid(Variable("x")), at).ToArray();
        for (int i = 0; i < xs.Length; i++)
        {
            double v = x.Data[i];
            Assert.True(Math.Abs(tanh[i] - Math.Tanh(v)) < 3e-7, $"tanh({v}) = {tanh[i]}");
            Assert.True(Math.Abs(sigmoid[i] - 1 / (1 + Math.Exp(-v))) < 3e-7, $"sigmoid({v}) = {sigmoid[i]}");
        }
    }

    [Theory]
    [InlineData(3, 5)]
    [InlineData(1, 7)]
    [InlineData(7, 1)]
    [InlineData(32, 32)]
    public void Transpose_puts_every_element_at_its_mirror(int rows, int cols)
    {
        var x = Enumerable.Range(0, rows * cols).Select(i => (float)i).ToArray();
        var y = new float[rows * cols];
        Op.Transpose.Into<float>(x, rows, cols, y);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                Assert.Equal(x[i * cols + j], y[j * rows + i]);
        Assert.Throws<ShapeException>(() => Op.Transpose.Into<float>(x, rows, cols + 1, y));
    }
}
