using System.Text.Json;
using DistributedBackprop.Core;
using static DistributedBackprop.Core.Expr;
using static DistributedBackprop.Core.Tests.TestData;

namespace DistributedBackprop.Core.Tests;

/// <summary>
/// The engine against PyTorch in float64: values, gradients and Hessians recorded by
/// <c>Reference/torch_reference.py</c> (torch.autograd) for programs and tensor expressions.
/// </summary>
public class ReferenceTests
{
    private static readonly JsonElement Reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Reference", "torch_reference.json"))).RootElement;

    public static TheoryData<int> ProgramCases => new(Enumerable.Range(0, Reference.GetProperty("programs").GetArrayLength()));
    public static TheoryData<string> TensorCases => new(Reference.GetProperty("tensors").EnumerateArray().Select(c => c.GetProperty("name").GetString()!));

    [Theory]
    [MemberData(nameof(ProgramCases))]
    public void Program_value_gradients_and_hessian_match_pytorch(int index)
    {
        var c = Reference.GetProperty("programs")[index];
        var program = ExpressionParser.Parse(c.GetProperty("program").GetString()!);
        var at = c.GetProperty("at").EnumerateObject().ToDictionary(p => p.Name, p => Tensor<double>.Scalar(p.Value.GetDouble()));
        var result = Backprop.Gradients(program.Output, at);

        AssertClose(c.GetProperty("value").GetDouble(), result.Value().Item(), what: "value");
        foreach (var g in c.GetProperty("gradients").EnumerateObject())
        {
            Expr node = program.Definitions.Where(d => d.Name == g.Name).Select(d => d.Value).FirstOrDefault()
                ?? program.Variables.Single(v => v.Name == g.Name);
            AssertClose(g.Value.GetDouble(), result.OfOrZero(node).Item(), what: $"d/d{g.Name}");
        }
        var names = at.Keys.ToList();
        var hessian = Backprop.Hessian(program.Output, names, at);
        for (int i = 0; i < names.Count; i++)
            for (int j = 0; j < names.Count; j++)
                AssertClose(c.GetProperty("hessian").GetProperty(names[i]).GetProperty(names[j]).GetDouble(), hessian[i, j], what: $"H[{names[i]},{names[j]}]");
    }

    private static Expr Build(string name)
    {
        var variables = new Dictionary<string, Op.Variable>();
        Op.Variable V(string n) => variables.TryGetValue(n, out var v) ? v : variables[n] = Variable(n);
        return name switch
        {
            "linear_sigmoid" => Sum(Sigmoid(MatMul(V("x"), V("w"), transB: true) + V("b"))),
            "cross_entropy" => -Mean(Sum(V("onehot") * LogSoftmax(V("logits"), 1), 1)),
            "broadcast" => Sum((V("a") + V("b")) * (V("a") - V("b")) / (V("b") * V("b") + 1.0)),
            "reductions" => Sum(Exp(Mean(V("x"), 0)) * Tanh(Sum(V("x"), 1, keepDims: true))),
            "elementwise" => Sum(Log(V("x")) + Sqrt(V("x")) + Sin(V("x")) * Cos(V("y")) + Relu(V("y")) + Pow(V("x"), V("y")) - Pow(V("x"), 3)),
            "transpose_reshape" => Sum(Reshape(MatMul(V("x"), V("x"), transA: true), 9) * V("w")),
            "mlp_tanh" => Mean(Square(MatMul(Tanh(MatMul(V("x"), V("w1"), transB: true) + V("b1")), V("w2"), transB: true) + V("b2") - V("y"))),
            "maximum_minimum_ties" => Sum(Maximum(V("a"), V("b")) * V("w")) + Sum(Square(Minimum(V("a"), V("b")))) + Sum(Abs(V("a")) * V("w")),
            "maximum_broadcast" => Sum(Maximum(V("a"), V("b")) * Minimum(V("b"), V("a") * 2.0)),
            "abs_at_zero" => Sum(Abs(V("x")) * Constant(Tensor<double>.Vector(1, 2, 3, 4))),
            "leaky_relu" => Sum(LeakyRelu(V("x"), 0.1) * V("w")) + Sum(LeakyRelu(V("x") * V("w"))),
            "gelu" => Sum(Gelu(V("x")) * V("w")),
            "softplus" => Sum(Softplus(V("x")) * V("w")),
            "one_hot" => Sum(OneHot(V("classes"), V("logits")) * LogSoftmax(V("logits"), 1)),
            _ => throw new ArgumentException(name),
        };
    }

    private static (JsonElement Case, Dictionary<string, Tensor<double>> At) Load(string name)
    {
        var c = Reference.GetProperty("tensors").EnumerateArray().Single(t => t.GetProperty("name").GetString() == name);
        var at = c.GetProperty("inputs").EnumerateObject().ToDictionary(p => p.Name, p => Tensor<double>.FromArray(
            p.Value.GetProperty("data").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
            p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray()));
        return (c, at);
    }

    [Theory]
    [MemberData(nameof(TensorCases))]
    public void Tensor_expression_matches_pytorch_in_double(string name)
    {
        var (c, at) = Load(name);
        var f = Build(name);
        var result = Backprop.Gradients(f, at);
        AssertClose(c.GetProperty("value").GetDouble(), result.Value().Item(), what: "value");
        var variables = Graph.TopologicalOrder([f]).OfType<Op.Variable>().ToDictionary(v => v.Name);
        foreach (var g in c.GetProperty("gradients").EnumerateObject())
        {
            var expected = g.Value.EnumerateArray().Select(e => e.GetDouble()).ToArray();
            var actual = result.OfOrZero(variables[g.Name]).ToArray();
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++) AssertClose(expected[i], actual[i], what: $"d/d{g.Name}[{i}]");
        }
    }

    [Theory]
    [MemberData(nameof(TensorCases))]
    public void Tensor_expression_in_float_is_close_to_pytorch(string name)
    {
        var (c, at) = Load(name);
        var f = Build(name);
        var result = Backprop.Gradients(f, at.ToDictionary(kv => kv.Key, kv => kv.Value.Cast<float>()));
        AssertClose(c.GetProperty("value").GetDouble(), result.Value().Item(), relative: 1e-5, what: "value");
        var variables = Graph.TopologicalOrder([f]).OfType<Op.Variable>().ToDictionary(v => v.Name);
        foreach (var g in c.GetProperty("gradients").EnumerateObject())
        {
            var expected = g.Value.EnumerateArray().Select(e => e.GetDouble()).ToArray();
            var actual = result.OfOrZero(variables[g.Name]).ToArray();
            for (int i = 0; i < expected.Length; i++)
                Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected[i])), $"d/d{g.Name}[{i}]: {expected[i]} vs {actual[i]}");
        }
    }
}
