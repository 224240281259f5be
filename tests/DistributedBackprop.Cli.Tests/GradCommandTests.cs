using System.Text.Json;

namespace DistributedBackprop.Cli.Tests;

[Collection("console")]
public class GradCommandTests
{
    private const string Notebook = "z1 = exp(-y); z2 = 1 + x^2 + y^2; z3 = x^3; z4 = 6*z1/z2 + 2*z3";

    [Fact]
    public void The_notebooks_example_prints_its_table()
    {
        var r = DbpRunner.Run("grad", Notebook, "--at", "x=2,y=4");
        Assert.Equal(0, r.ExitCode);
        var rows = r.Out.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal("2.0000", rows["dz4/dz3"]);
        Assert.Equal("-0.0002", rows["dz4/dz2"]);
        Assert.Equal("0.2857", rows["dz4/dz1"]);
        Assert.Equal("23.9990", rows["dz4/dx"]);
        Assert.Equal("-0.0072", rows["dz4/dy"]);
        Assert.StartsWith("z4 = 16.0052", r.Out);
    }

    private static JsonElement Json(params string[] args)
    {
        var r = DbpRunner.Run(["grad", .. args, "--json"]);
        Assert.Equal(0, r.ExitCode);
        return JsonDocument.Parse(r.LastLine).RootElement;
    }

    [Fact]
    public void The_hessian_is_the_derivative_of_the_printed_gradient()
    {
        var at = Json(Notebook, "--at", "x=2,y=4", "--order", "2");
        const double h = 1e-5;
        foreach (var (v, shiftPlus, shiftMinus) in new[] { ("x", "x=2.00001,y=4", "x=1.99999,y=4"), ("y", "x=2,y=4.00001", "x=2,y=3.99999") })
        {
            var plus = Json(Notebook, "--at", shiftPlus).GetProperty("gradients");
            var minus = Json(Notebook, "--at", shiftMinus).GetProperty("gradients");
            foreach (var w in new[] { "x", "y" })
            {
                double fd = (plus.GetProperty(w).GetDouble() - minus.GetProperty(w).GetDouble()) / (2 * h);
                double exact = at.GetProperty("hessian").GetProperty(w).GetProperty(v).GetDouble();
                Assert.True(Math.Abs(fd - exact) < 1e-5 * Math.Max(1, Math.Abs(exact)), $"H[{w},{v}]: {exact} vs finite differences {fd}");
            }
        }
        Assert.Equal(at.GetProperty("hessian").GetProperty("x").GetProperty("y").GetDouble(),
                     at.GetProperty("hessian").GetProperty("y").GetProperty("x").GetDouble(), 12);
    }

    [Fact]
    public void A_variable_the_output_does_not_depend_on_has_gradient_zero()
    {
        var j = Json("x^2", "--at", "x=3,w=5");
        Assert.Equal(6, j.GetProperty("gradients").GetProperty("x").GetDouble());
        Assert.Equal(0, j.GetProperty("gradients").GetProperty("w").GetDouble());
        Assert.Equal(9, j.GetProperty("value").GetDouble());
    }

    [Theory]
    [InlineData("column 4: unexpected '*'", "grad", "x +* 2", "--at", "x=1")]
    [InlineData("unknown function 'foo'", "grad", "foo(x)", "--at", "x=1")]
    [InlineData("variable 'y' has no value: give it with --at y=", "grad", "x*y", "--at", "x=1")]
    [InlineData("'abc' is not a number (for x)", "grad", "x", "--at", "x=abc")]
    [InlineData("not of the form name=value", "grad", "x", "--at", "x")]
    [InlineData("--order must be 1 or 2", "grad", "x", "--at", "x=1", "--order", "3")]
    [InlineData("x is given twice", "grad", "x", "--at", "x=1,x=2")]
    [InlineData("z is defined by the program", "grad", "z = 2*x; z", "--at", "x=1,z=2")]
    [InlineData("Unrecognized command or argument", "grad", "x", "--bogus")]
    public void Bad_input_is_one_line_and_a_non_zero_exit(string expected, params string[] args)
    {
        var r = DbpRunner.Run(args);
        DbpRunner.AssertOneLineError(r, expected);
        Assert.Equal("", r.Out);
    }
}
