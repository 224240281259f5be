using System.CommandLine;

namespace DistributedBackprop.Cli.Demo;

/// <summary>What a demo section needs: where pictures go, the seed, and a record of the files written.</summary>
public sealed class DemoContext(string outDir, int seed, TextWriter output)
{
    public string OutDir { get; } = outDir;
    public int Seed { get; } = seed;
    public TextWriter Out { get; } = output;

    public void Heading(string title) => Out.WriteLine($"\n=== {title} ===\n");

    /// <summary>Writes NAME.dot, and NAME.svg where Graphviz is installed; names each file written.</summary>
    public void Graph(string name, string dotText)
    {
        Wrote(name + ".dot", path => Graphviz.Write(dotText, path));
        if (Graphviz.IsInstalled) Wrote(name + ".svg", path => Graphviz.Write(dotText, path));
        else Out.WriteLine($"(no {name}.svg: Graphviz's dot is not installed — apt-get install graphviz)");
    }

    public void Wrote(string file, Action<string> write)
    {
        var path = Path.Combine(OutDir, file);
        write(path);
        Out.WriteLine($"wrote {path}");
    }
}

/// <summary><c>dbp demo</c>: the notebook, section by section.</summary>
public static class DemoCommand
{
    public static readonly (string Name, string Summary, Action<DemoContext> Run)[] Sections =
    [
        ("basics", "x^2 at 3.5, its gradient against the analytic 2x, evaluation without gradients", AutogradSections.Basics),
        ("intermediates", "f(x, y) piece by piece: engine, chain rule by hand and closed form agree", AutogradSections.Intermediates),
        ("graph", "the computation graphs of f(x, y) and of the small MLP (DOT and SVG)", AutogradSections.Graphs),
        ("mlp", "the 3-3-1 sigmoid network: named parameters and their gradients", NetworkSections.Mlp),
        ("regression", "the 1-32-32-1 tanh network fitted by SGD; PNGs of the fit and the loss", NetworkSections.Regression),
        ("cross-entropy", "cross-entropy of the notebook's four logit cases", NetworkSections.CrossEntropy),
    ];

    public static Command Create()
    {
        var section = new Argument<string?>("SECTION")
        {
            Description = "one section: " + string.Join(", ", Sections.Select(s => s.Name)) + " (default: all, in order)",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var outDir = new Option<string>("--out", "-o") { Description = "folder for the pictures", DefaultValueFactory = _ => "dbp-out" };
        var seed = new Option<int>("--seed") { Description = "seed for random draws and initial weights", DefaultValueFactory = _ => 0 };
        var command = new Command("demo", "The PyTorch backpropagation notebook, section by section: " +
            string.Join("; ", Sections.Select(s => $"{s.Name}: {s.Summary}"))) { section, outDir, seed };
        command.SetAction(r => Run(r.GetValue(section), r.GetValue(outDir)!, r.GetValue(seed)));
        return command;
    }

    private static int Run(string? section, string outDir, int seed)
    {
        var chosen = section is null ? Sections : Sections.Where(s => s.Name == section).ToArray();
        if (chosen.Length == 0)
            throw new UsageException($"unknown section '{section}'; sections: {string.Join(", ", Sections.Select(s => s.Name))}");
        if (Nn.AtomicFile.Kind(outDir) is { } kind && kind != "a directory") throw new UsageException($"--out {outDir} is {kind}, not a folder");
        try { Directory.CreateDirectory(outDir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new IOException($"cannot create output folder {outDir}: {e.Message}"); }
        var context = new DemoContext(outDir, seed, Console.Out);
        foreach (var (_, _, run) in chosen) run(context);
        return 0;
    }
}
