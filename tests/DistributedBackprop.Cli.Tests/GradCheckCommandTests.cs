using System.Text.Json;

namespace DistributedBackprop.Cli.Tests;

[Collection("console")]
public class GradCheckCommandTests
{
    private const string Notebook = "z1 = exp(-y); z2 = 1 + x^2 + y^2; z3 = x^3; z4 = 6*z1/z2 + 2*z3";

    private static JsonElement Json(DbpRunner.Result r) => JsonDocument.Parse(r.LastLine).RootElement;

    [Fact]
    public void The_notebook_passes_and_its_engine_gradients_are_the_grad_commands()
    {
        var r = DbpRunner.Run("gradcheck", Notebook, "--at", "x=2,y=4", "--json");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.Err);
        var j = Json(r);
        Assert.True(j.GetProperty("passed").GetBoolean());
        var grad = Json(DbpRunner.Run("grad", Notebook, "--at", "x=2,y=4", "--json")).GetProperty("gradients");
        foreach (var v in new[] { "x", "y" })
        {
            var check = j.GetProperty("variables").GetProperty(v);
            double engine = check.GetProperty("engine").GetDouble(), numeric = check.GetProperty("finite_differences").GetDouble();
            Assert.Equal(grad.GetProperty(v).GetDouble(), engine);
            Assert.NotEqual(engine, numeric); // computed, not copied
            double error = Math.Abs(engine - numeric) / Math.Max(1, Math.Max(Math.Abs(engine), Math.Abs(numeric)));
            Assert.Equal(error, check.GetProperty("error").GetDouble(), 15);
            Assert.True(error < 1e-6);
        }

        var table = DbpRunner.Run("gradcheck", Notebook, "--at", "x=2,y=4");
        Assert.Equal(0, table.ExitCode);
        Assert.Matches(@"dz4/dx\s+23\.999003\s+23\.999003\s+\S+\s+ok", table.Out);
        Assert.Contains("passed: 2 of 2 variables within the tolerance", table.Out);
    }

    [Fact]
    public void A_kink_fails_with_exit_1_and_one_line_naming_the_variable()
    {
        // relu at 0: the engine says 0, central differences 0.5.
        var r = DbpRunner.Run("gradcheck", "relu(x) + y^2", "--at", "x=0,y=1");
        Assert.Equal(1, r.ExitCode);
        var err = Assert.Single(r.Err.TrimEnd().Split('\n'));
        Assert.StartsWith("dbp: gradcheck failed for x (error 5.0E-01)", err);
        Assert.DoesNotContain("y (", err);
        Assert.Matches(@"df/dx\s+0\.000000\s+0\.500000\s+5\.0E-01\s+FAILED", r.Out);
        Assert.Matches(@"df/dy\s+2\.000000\s+2\.000000\s+\S+\s+ok", r.Out);
        Assert.Contains("FAILED: 1 of 2 variables within the tolerance", r.Out);

        var j = Json(DbpRunner.Run("gradcheck", "relu(x) + y^2", "--at", "x=0,y=1", "--json"));
        Assert.False(j.GetProperty("passed").GetBoolean());
        Assert.False(j.GetProperty("variables").GetProperty("x").GetProperty("passed").GetBoolean());
        Assert.True(j.GetProperty("variables").GetProperty("y").GetProperty("passed").GetBoolean());
    }

    [Fact]
    public void The_step_and_the_tolerance_decide()
    {
        // x^3 at 3 by central differences of step h is off by h^2 (f'''/6 = 1): 1e-4 / 27 relative at h = 0.01.
        var coarse = Json(DbpRunner.Run("gradcheck", "x^3", "--at", "x=3", "--eps", "0.01", "--json"));
        Assert.False(coarse.GetProperty("passed").GetBoolean());
        Assert.Equal(1e-4 / 27, coarse.GetProperty("variables").GetProperty("x").GetProperty("error").GetDouble(), 8);
        Assert.Equal(0.01, coarse.GetProperty("epsilon").GetDouble());
        var tolerant = DbpRunner.Run("gradcheck", "x^3", "--at", "x=3", "--eps", "0.01", "--tolerance", "1e-5", "--json");
        Assert.Equal(0, tolerant.ExitCode);
        Assert.True(Json(tolerant).GetProperty("passed").GetBoolean());
    }

    [Fact]
    public void A_tensor_output_is_checked_jacobian_element_by_element()
    {
        var r = DbpRunner.Run("gradcheck", "y = sum(x^3, 0) * w", "--at", "x=[[1,2],[3,4]],w=[0.5,-1]", "--json");
        Assert.Equal(0, r.ExitCode);
        var x = Json(r).GetProperty("variables").GetProperty("x");
        var engine = x.GetProperty("engine");
        // y[j] = w[j] sum_i x[i, j]^3: dy[j] / dx[i, k] = 3 w[j] x[i, k]^2 where k == j.
        double[,] xs = { { 1, 2 }, { 3, 4 } };
        double[] w = [0.5, -1];
        for (int j = 0; j < 2; j++)
            for (int i = 0; i < 2; i++)
                for (int k = 0; k < 2; k++)
                {
                    Assert.Equal(k == j ? 3 * w[j] * xs[i, k] * xs[i, k] : 0, engine[j][i][k].GetDouble(), 12);
                    Assert.Equal(engine[j][i][k].GetDouble(), x.GetProperty("finite_differences")[j][i][k].GetDouble(), 6);
                }

        var table = DbpRunner.Run("gradcheck", "y = sum(x^3, 0) * w", "--at", "x=[[1,2],[3,4]],w=[0.5,-1]");
        Assert.Contains("  engine              [[[  1.500000,   0.000000],\n                        [ 13.500000,   0.000000]],", table.Out); // one width for all, no -0
        Assert.Contains("  finite differences  [", table.Out);
    }

    [Theory]
    [InlineData("--eps must be a positive number, not 0", "gradcheck", "x^2", "--at", "x=1", "--eps", "0")]
    [InlineData("--tolerance must be 0 or more", "gradcheck", "x^2", "--at", "x=1", "--tolerance", "-1")]
    [InlineData("variable 'y' has no value: give it with --at y=", "gradcheck", "x*y", "--at", "x=1")]
    [InlineData("x is ragged", "gradcheck", "sum(x)", "--at", "x=[[1],[2,3]]")]
    [InlineData("column 4: unexpected '/'", "gradcheck", "x */ 2", "--at", "x=1")]
    public void Bad_input_is_one_line_and_exit_2(string expected, params string[] args) =>
        DbpRunner.AssertBadInput(DbpRunner.Run(args), expected);
}
