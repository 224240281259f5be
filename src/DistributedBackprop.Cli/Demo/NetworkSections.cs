using DistributedBackprop.Core;
using DistributedBackprop.Nn;
using static DistributedBackprop.Core.Expr;

namespace DistributedBackprop.Cli.Demo;

/// <summary>The notebook's second part: named layers, training by SGD, cross-entropy.</summary>
public static partial class NetworkSections
{
    /// <summary>The notebook's OrderedDict network, its input variable (no gradient) and the notebook's printed x.</summary>
    public static (Sequential Model, Op.Variable X, Tensor<float> Input) NotebookMlp(int seed) =>
        (new Sequential(new Linear("linear1", 3, 3), new Sigmoid("sig1"), new Linear("linear2", 3, 1), new Sigmoid("sig2")),
         Variable("x", requiresGrad: false),
         Tensor<float>.Vector(-0.1691f, -0.2432f, 0.2890f));

    public static void Mlp(DemoContext c)
    {
        c.Heading("mlp: h(x) = g(b2 + W2ᵀ g(b1 + W1ᵀ x)) as named layers");
        var (model, x, input) = NotebookMlp(c.Seed);
        c.Out.WriteLine(model);
        c.Out.WriteLine($"x = {input}   (needs no gradient)");
        var parameters = model.Init<float>(c.Seed);
        var bindings = parameters.ToBindings();
        bindings["x"] = input;
        var y = model.Forward(x);
        var r = Backprop.Gradients(y, bindings);
        c.Out.WriteLine($"y = model(x) = {Torch.Show(r.Value(), y.BackwardName)}\n");
        c.Out.WriteLine("y.backward(); for each named parameter: its gradient, and whether its shape equals the parameter's");
        foreach (var spec in model.Parameters)
        {
            var g = r.Of(spec.Variable)!;
            c.Out.WriteLine(spec.Name);
            c.Out.WriteLine(g);
            c.Out.WriteLine(g.Shape.SequenceEqual(parameters[spec.Name].Shape) ? "True" : "False");
            c.Out.WriteLine();
        }
        c.Out.WriteLine($"x.grad: {(r.Of(x) is null ? "None" : r.Of(x)!.ToString())}");
    }

    private static readonly (string Comment, float[][] Logits)[] CrossEntropyCases =
    [
        ("raw scores correspond to the correct class", [[-1, 1], [-1, 1], [1, -1]]),
        ("the correct class with higher confidence", [[-3, 3], [-3, 3], [3, -3]]),
        ("raw scores correspond to the incorrect class", [[1, -1], [1, -1], [-1, 1]]),
        ("the incorrect class with incorrectly placed confidence", [[3, -3], [3, -3], [-3, 3]]),
    ];

    public static void CrossEntropy(DemoContext c)
    {
        c.Heading("cross-entropy: CrossEntropyLoss over logits and class indices");
        int[] target = [1, 1, 0];
        var (logits, onehot) = (Variable("input", requiresGrad: false), Variable("target", requiresGrad: false));
        var loss = Loss.CrossEntropy(logits, onehot);
        c.Out.WriteLine($"target = [{string.Join(", ", target)}]");
        foreach (var (comment, rows) in CrossEntropyCases)
        {
            var at = new Dictionary<string, Tensor<float>> { ["input"] = Tensor<float>.FromRows(rows), ["target"] = Loss.OneHot<float>(target, 2) };
            var text = "[" + string.Join(", ", rows.Select(r => "[" + string.Join(", ", r) + "]")) + "]";
            c.Out.WriteLine($"input = {text,-28} loss = tensor({Torch.F4(Backprop.Evaluate(loss, at).Item())})   # {comment}");
        }
    }
}
