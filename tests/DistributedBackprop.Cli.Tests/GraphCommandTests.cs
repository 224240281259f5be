namespace DistributedBackprop.Cli.Tests;

[Collection("console")]
public class GraphCommandTests : IDisposable
{
    private const string Notebook = "z1 = exp(-y); z2 = 1 + x^2 + y^2; z3 = x^3; z4 = 6*z1/z2 + 2*z3";
    private readonly string _dir = Directory.CreateTempSubdirectory("dbp-graph-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Writes_dot_text_with_values_and_gradients()
    {
        var path = Path.Combine(_dir, "f.dot");
        var r = DbpRunner.Run("graph", Notebook, "--at", "x=2,y=4", "--out", path);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains(path, r.Out);
        var dot = File.ReadAllText(path);
        Assert.StartsWith("digraph {", dot);
        Assert.Contains("z4\\lAddBackward0", dot);
        Assert.Contains("grad  23.999", dot);
        Assert.Equal([path], Directory.GetFiles(_dir)); // no temporary file left behind
    }

    [Fact]
    public void Without_values_it_draws_shapes_and_accumulators_and_leaves_constants_out_unless_asked()
    {
        var path = Path.Combine(_dir, "f.dot");
        Assert.Equal(0, DbpRunner.Run("graph", Notebook, "--out", path).ExitCode);
        var dot = File.ReadAllText(path);
        Assert.Contains("label=\"x\\l()\\l\" fillcolor=lightblue", dot);
        Assert.Equal(2, dot.Split("AccumulateGrad").Length - 1);
        Assert.Contains("z4\\lAddBackward0\\l()", dot);
        Assert.DoesNotContain("plaintext", dot);
        Assert.DoesNotContain("value", dot);

        Assert.Equal(0, DbpRunner.Run("graph", Notebook, "--out", path, "--show-inputs").ExitCode);
        var shown = File.ReadAllText(path);
        foreach (var constant in new[] { "1", "2", "6" }) // the exponents are part of their PowBackward0, not nodes Assert.Contains($"label=\"{constant}\\l\" fillcolor=white shape=plaintext", shown);
        Assert.True(shown.Split(" -> ").Length > dot.Split(" -> ").Length);
    }

    [Fact]
    public void Tensor_values_give_their_shapes()
    {
        var path = Path.Combine(_dir, "t.dot");
        var r = DbpRunner.Run("graph", "y = mean(w * x, -1)", "--at", "x=[1,2,3],w=[[1,2,3],[4,5,6]]", "--out", path);
        Assert.Equal(0, r.ExitCode);
        var dot = File.ReadAllText(path);
        Assert.Contains("x\\l(3)\\lvalue [1., 2., 3.]", dot);
        Assert.Contains("w\\l(2, 3)\\l", dot);
        Assert.Contains("y\\lMeanBackward1\\l(2)\\l", dot);
    }

    [Fact]
    public void Writes_svg_through_graphviz_or_says_how_to_install_it()
    {
        var path = Path.Combine(_dir, "f.svg");
        var r = DbpRunner.Run("graph", Notebook, "--out", path);
        bool haveDot = Environment.GetEnvironmentVariable("PATH")!.Split(':').Any(d => File.Exists(Path.Combine(d, "dot")));
        if (haveDot)
        {
            Assert.Equal(0, r.ExitCode);
            var svg = File.ReadAllText(path);
            Assert.Contains("<svg", svg);
            Assert.Contains("ExpBackward0", svg);
        }
        else
        {
            DbpRunner.AssertOneLineError(r, "apt-get install graphviz");
            Assert.False(File.Exists(path));
        }
    }

    [Fact]
    public void An_unwritable_output_is_an_error_and_leaves_an_existing_file_alone()
    {
        var r = DbpRunner.Run("graph", "x^2", "--out", Path.Combine(_dir, "missing", "f.dot"));
        DbpRunner.AssertOneLineError(r, "does not exist");

        var existing = Path.Combine(_dir, "keep.dot");
        File.WriteAllText(existing, "precious");
        var bad = DbpRunner.Run("graph", "x +", "--out", existing);
        DbpRunner.AssertOneLineError(bad, "column 4");
        Assert.Equal("precious", File.ReadAllText(existing));
    }

    [Fact]
    public void An_unknown_picture_format_is_refused()
    {
        var r = DbpRunner.Run("graph", "x^2", "--out", Path.Combine(_dir, "f.gif"));
        DbpRunner.AssertOneLineError(r, "use .dot, .gv, .svg, .png");
    }
}
