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

    [Fact]
    public void A_scalar_output_keeps_its_json_numbers_and_keys()
    {
        var j = Json(Notebook, "--at", "x=2,y=4");
        Assert.Equal(["value", "gradients"], j.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["x", "y", "z1", "z2", "z3", "z4"], j.GetProperty("gradients").EnumerateObject().Select(p => p.Name));
        Assert.All(j.GetProperty("gradients").EnumerateObject(), p => Assert.Equal(JsonValueKind.Number, p.Value.ValueKind));
    }

    private static double[] Doubles(JsonElement e) => e.ValueKind == JsonValueKind.Array
        ? e.EnumerateArray().SelectMany(Doubles).ToArray() : [e.GetDouble()];

    [Fact]
    public void A_tensor_variable_gets_a_gradient_of_its_own_shape()
    {
        double[] x = [1, -2, 3.5];
        var j = Json("s = sum(x^2) + y", "--at", "x=[1,-2,3.5],y=2");
        Assert.Equal(x.Sum(v => v * v) + 2, j.GetProperty("value").GetDouble(), 12);
        var gx = j.GetProperty("gradients").GetProperty("x");
        Assert.Equal(3, gx.GetArrayLength());
        Assert.Equal(x.Select(v => 2 * v).ToArray(), Doubles(gx));
        Assert.Equal(1, j.GetProperty("gradients").GetProperty("y").GetDouble());

        var table = DbpRunner.Run("grad", "s = sum(x^2) + y", "--at", "x=[1,-2,3.5],y=2");
        Assert.Contains("ds/dx     [ 2.0000, -4.0000,  7.0000]", table.Out);
    }

    [Fact]
    public void A_matrix_and_its_gradient_keep_their_rows()
    {
        var j = Json("mean(w * w)", "--at", "w=[[1,2,3],[4,5,6]]");
        var gw = j.GetProperty("gradients").GetProperty("w");
        Assert.Equal(2, gw.GetArrayLength());
        Assert.Equal(3, gw[0].GetArrayLength());
        Assert.Equal(new[] { 1.0, 2, 3, 4, 5, 6 }.Select(v => 2 * v / 6).ToArray(), Doubles(gw), new ToleranceComparer(1e-12));
    }

    [Fact]
    public void A_tensor_output_gives_the_jacobian_of_every_element()
    {
        double[,] w = { { 1, 2, 3 }, { 4, 5, 6 } };
        double[] x = [0.5, -1, 2];
        var j = Json("y = w * x; z = sum(y, 1)", "--at", "x=[0.5,-1,2],w=[[1,2,3],[4,5,6]]");
        Assert.Equal([w[0, 0] * x[0] + w[0, 1] * x[1] + w[0, 2] * x[2], w[1, 0] * x[0] + w[1, 1] * x[1] + w[1, 2] * x[2]], Doubles(j.GetProperty("value")));
        Assert.False(j.TryGetProperty("gradients", out _));
        var jac = j.GetProperty("jacobian");
        Assert.Equal(["x", "w", "y", "z"], jac.EnumerateObject().Select(p => p.Name));
        // dz[i] / dx[k] = w[i, k]; dz[i] / dw[k, l] = x[l] where i == k; dz[i] / dy[k, l] = 1 where i == k.
        var dx = jac.GetProperty("x");
        for (int i = 0; i < 2; i++)
            for (int k = 0; k < 3; k++)
                Assert.Equal(w[i, k], dx[i][k].GetDouble(), 12);
        var dw = jac.GetProperty("w");
        for (int i = 0; i < 2; i++)
            for (int k = 0; k < 2; k++)
                for (int l = 0; l < 3; l++)
                    Assert.Equal(i == k ? x[l] : 0, dw[i][k][l].GetDouble(), 12);
        Assert.Equal([1.0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1], Doubles(jac.GetProperty("y")));

        var table = DbpRunner.Run("grad", "y = w * x; z = sum(y, 1)", "--at", "x=[0.5,-1,2],w=[[1,2,3],[4,5,6]]");
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("dz/dw: Jacobian [2, 2, 3] (z's shape, then w's)", table.Out);
        Assert.Contains("dz/dx: Jacobian [2, 3] (z's shape, then x's)\n[[1.0000, 2.0000, 3.0000],\n [4.0000, 5.0000, 6.0000]]", table.Out);
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= tolerance;
        public int GetHashCode(double v) => 0;
    }

    [Fact]
    public void A_jacobian_too_large_to_print_is_refused()
    {
        var big = "x=[" + string.Join(",", Enumerable.Repeat("1", 1001)) + "]";
        var r = DbpRunner.Run("grad", "x * 2", "--at", big);
        DbpRunner.AssertOneLineError(r, "would have 1,002,001 entries, more than 1,000,000");
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
    [InlineData("x is ragged: element 2 of a list has shape [1], the first [2]", "grad", "sum(x)", "--at", "x=[[1,2],[3]]")]
    [InlineData("x is ragged: element 2 of a list has shape [2], the first []", "grad", "sum(x)", "--at", "x=[1,[2,3]]")]
    [InlineData("x=[1,2 is not a nested list of numbers: a ']' is missing", "grad", "sum(x)", "--at", "x=[1,2")]
    [InlineData("unexpected ']' after the closing ']'", "grad", "sum(x)", "--at", "x=[1,2]]")]
    [InlineData("a number is missing before ','", "grad", "sum(x)", "--at", "x=[1,,2]")]
    [InlineData("'two' is not a number (for x)", "grad", "sum(x)", "--at", "x=[1,two]")]
    [InlineData("x has an empty list", "grad", "sum(x)", "--at", "x=[]")]
    [InlineData("--order 2 needs a scalar output; f has shape [2]", "grad", "x^2", "--at", "x=[1,2]", "--order", "2")]
    [InlineData("the Hessian is over scalar variables; x has shape [2]", "grad", "sum(x^2)", "--at", "x=[1,2]", "--order", "2")]
    [InlineData("Sum: axis 1 is out of range for rank 1", "grad", "sum(x, 1)", "--at", "x=[1,2]")]
    [InlineData("shapes [2] and [3] do not broadcast", "grad", "x * y", "--at", "x=[1,2],y=[1,2,3]")]
    public void Bad_input_is_one_line_and_a_non_zero_exit(string expected, params string[] args) =>
        DbpRunner.AssertBadInput(DbpRunner.Run(args), expected);
}
