namespace DistributedBackprop.Cli.Tests;

[Collection("console")]
public class DemoCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dbp-demo-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_autograd_sections_print_the_notebooks_numbers()
    {
        var basics = DbpRunner.Run("demo", "basics", "--out", _dir);
        Assert.Equal(0, basics.ExitCode);
        Assert.Contains("tensor([12.2500], grad_fn=<PowBackward0>)", basics.Out);
        Assert.Contains("x.grad = tensor([7.]), f'(x) = 2x = tensor([7.]", basics.Out);

        var inter = DbpRunner.Run("demo", "intermediates", "--out", _dir);
        Assert.Contains("all in one tensor([2.0817])   piece by piece tensor([2.0817])", inter.Out);
        var rows = inter.Out.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(p => p.Length > 0 && p[0].StartsWith("dz4/")).ToDictionary(p => p[0], p => p[1..]);
        Assert.Equal(["23.9990", "23.9990", "23.9990"], rows["dz4/dx"]);
        Assert.Equal(["-0.0072", "-0.0072", "-0.0072"], rows["dz4/dy"]);
        Assert.Equal(["-0.0002", "-0.0002"], rows["dz4/dz2"]);
        Assert.Equal(["0.2857", "0.2857"], rows["dz4/dz1"]);
        Assert.Equal(["2.0000", "2.0000"], rows["dz4/dz3"]);
    }

    [Fact]
    public void The_mlp_section_prints_shapes_that_match_and_no_gradient_for_x()
    {
        var r = DbpRunner.Run("demo", "mlp", "--out", _dir);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("(linear1): Linear(in_features=3, out_features=3, bias=True)", r.Out);
        foreach (var name in new[] { "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias" }) Assert.Contains(name + "\ntensor(", r.Out);
        Assert.Equal(4, r.Out.Split('\n').Count(l => l == "True"));
        Assert.Contains("x.grad: None", r.Out);
    }

    [Fact]
    public void The_cross_entropy_section_gives_0_1269_for_the_first_case()
    {
        var r = DbpRunner.Run("demo", "cross-entropy", "--out", _dir);
        var losses = r.Out.Split('\n').Where(l => l.Contains("loss = tensor(")).Select(l => l.Split("loss = tensor(")[1][..6]).ToArray();
        Assert.Equal(["0.1269", "0.0025", "2.1269", "6.0025"], losses);
    }

    [Fact]
    public void The_graph_section_writes_the_pictures_it_names()
    {
        var r = DbpRunner.Run("demo", "graph", "--out", _dir);
        Assert.Equal(0, r.ExitCode);
        var written = r.Out.Split('\n').Where(l => l.StartsWith("wrote ")).Select(l => l[6..]).ToList();
        Assert.Contains(Path.Combine(_dir, "fxy.dot"), written);
        Assert.Contains(Path.Combine(_dir, "mlp.dot"), written);
        Assert.All(written, f => Assert.True(new FileInfo(f).Length > 100, f));
        Assert.Contains("linear1.weight", File.ReadAllText(Path.Combine(_dir, "mlp.dot")));
    }

    [Fact]
    public void An_unknown_section_is_refused_with_the_list()
    {
        var r = DbpRunner.Run("demo", "backprop", "--out", _dir);
        DbpRunner.AssertOneLineError(r, "unknown section 'backprop'; sections: basics, intermediates, graph, mlp, regression, cross-entropy");
    }

    [Fact]
    public void An_output_folder_that_cannot_be_made_is_an_error()
    {
        var file = Path.Combine(_dir, "a-file");
        File.WriteAllText(file, "");
        DbpRunner.AssertOneLineError(DbpRunner.Run("demo", "basics", "--out", Path.Combine(file, "sub")), "cannot create output folder");
    }
}
