using DistributedBackprop.Core;
using static DistributedBackprop.Core.Expr;

namespace DistributedBackprop.Cli.Demo;

/// <summary>The notebook's first part: the computation graph of simple functions and their gradients.</summary>
public static class AutogradSections
{
    private const string FPieces = "z1 = exp(-y); z2 = 1 + x^2 + y^2; z3 = x^3; z4 = 6*z1/z2 + 2*z3";
    private const string FAllInOne = "2 * (x ^ 3) + (6 * exp(-y)) / (1 + x ^ 2 + y ^ 2)";

    public static void Basics(DemoContext c)
    {
        c.Heading("basics: f(x) = x^2");
        var x = Variable("x");
        var y = Pow(x, 2);
        var at = Torch.At(("x", 3.5f));
        var r = Backprop.Gradients(y, at);
        c.Out.WriteLine($"x = {Torch.Show(at["x"], requiresGrad: true)}");
        c.Out.WriteLine($"y = f(x) = {Torch.Show(r.Value(), y.BackwardName)}");
        c.Out.WriteLine($"y.backward(): x.grad = {r.Of(x)}, f'(x) = 2x = {Torch.Show(Backprop.Evaluate(2.0 * x, at), "MulBackward0")}");
        // torch.no_grad(): evaluation builds no gradient.
        c.Out.WriteLine($"without gradients: f'(x) = {Backprop.Evaluate(2.0 * x, at)}");
        c.Graph("square", Dot.Render(y, new Dictionary<Expr, string>(ReferenceEqualityComparer.Instance) { [y] = "y" }, Backprop.Gradients(y, at.ToDictionary(kv => kv.Key, kv => kv.Value.Cast<double>()))));
    }

    public static void Intermediates(DemoContext c)
    {
        c.Heading("intermediates: f(x, y) = 6 exp(-y) / (1 + x^2 + y^2) + 2 x^3");
        var pieces = ExpressionParser.Parse(FPieces);
        var allInOne = ExpressionParser.Parse(FAllInOne);
        var rng = new Rng(c.Seed);
        var points = new[] { ("the notebook's random draw", 0.9829f, 1.8251f), ($"a random draw (seed {c.Seed})", (float)rng.Uniform(-2, 2), (float)rng.Uniform(-2, 2)) };
        foreach (var (what, xv, yv) in points)
        {
            var at = Torch.At(("x", xv), ("y", yv));
            c.Out.WriteLine($"{what}: x, y = ({at["x"]}, {at["y"]})");
            c.Out.WriteLine($"  all in one {Backprop.Evaluate(allInOne.Output, at)}   piece by piece {Backprop.Evaluate(pieces.Output, at)}");
        }

        var p = Torch.At(("x", 2f), ("y", 4f));
        c.Out.WriteLine($"\nat x, y = ({Torch.Show(p["x"], requiresGrad: true)}, {Torch.Show(p["y"], requiresGrad: true)}):\n");
        var r = Backprop.Gradients(pieces.Output, p);
        var d = pieces.Definitions.ToDictionary(e => e.Name, e => e.Value);
        var (x, y) = (pieces.Variables.Single(v => v.Name == "x"), pieces.Variables.Single(v => v.Name == "y"));
        float G(Expr e) => r.Of(e)!.Item();
        float V(Expr e) => r.ValueOf(e).Item();
        float Eval(Expr e) => Backprop.Evaluate(e, p).Item();

        // The chain rule by hand, from the intermediates' gradients and the local derivatives.
        float dz4dz3 = 2, dz4dz2 = -6 * V(d["z1"]) / (V(d["z2"]) * V(d["z2"])), dz4dz1 = 6 / V(d["z2"]);
        float dz3dx = 3 * p["x"].Item() * p["x"].Item(), dz2dx = 2 * p["x"].Item(), dz2dy = 2 * p["y"].Item(), dz1dy = -MathF.Exp(-p["y"].Item());
        float byHandX = G(d["z3"]) * dz3dx + G(d["z2"]) * dz2dx;
        float byHandY = G(d["z2"]) * dz2dy + G(d["z1"]) * dz1dy;
        var closedX = ExpressionParser.Parse("6 * (x ^ 2) - (12 * x * exp(-y)) / ((x ^ 2 + y ^ 2 + 1) ^ 2)").Output;
        var closedY = ExpressionParser.Parse("-(6 * exp(-y) * (x ^ 2 + (y + 1) ^ 2)) / ((x ^ 2 + y ^ 2 + 1) ^ 2)").Output;

        c.Out.WriteLine("Variable   engine     chain rule  closed form");
        void Row(string name, float engine, float byHand, float? closed) =>
            c.Out.WriteLine($"{name,-10} {Torch.F4(engine),-10} {Torch.F4(byHand),-11} {(closed is float v ? Torch.F4(v) : "")}");
        Row("dz4/dz3", G(d["z3"]), dz4dz3, null);
        Row("dz4/dz2", G(d["z2"]), dz4dz2, null);
        Row("dz4/dz1", G(d["z1"]), dz4dz1, null);
        Row("dz4/dx", G(x), byHandX, Eval(closedX));
        Row("dz4/dy", G(y), byHandY, Eval(closedY));
    }

    public static void Graphs(DemoContext c)
    {
        c.Heading("graph: the computation graphs");
        var f = ExpressionParser.Parse(FPieces);
        var at = new Dictionary<string, Tensor<double>> { ["x"] = Tensor<double>.Vector(2), ["y"] = Tensor<double>.Vector(4) };
        c.Out.WriteLine("f(x, y) at (2, 4), each node with its value and gradient:");
        c.Graph("fxy", Dot.Render(f.Output, f.Names, Backprop.Gradients(f.Output, at)));
        c.Out.WriteLine("the 3-3-1 sigmoid network (the input x needs no gradient: left out, as torchviz leaves it out):");
        var (model, x, input) = NetworkSections.NotebookMlp(c.Seed);
        var y = model.Forward(x);
        var bindings = model.Init<double>(c.Seed).ToBindings();
        bindings["x"] = input.Cast<double>();
        c.Graph("mlp", Dot.Render(y, new Dictionary<Expr, string>(ReferenceEqualityComparer.Instance) { [y] = "y" }, Backprop.Gradients(y, bindings)));
    }
}
