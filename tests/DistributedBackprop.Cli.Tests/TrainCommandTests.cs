using System.Text.Json;

namespace DistributedBackprop.Cli.Tests;

[Collection("console")]
public class TrainCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dbp-train-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static JsonElement Json(DbpRunner.Result r)
    {
        Assert.True(r.ExitCode == 0, r.Err);
        return JsonDocument.Parse(r.LastLine).RootElement;
    }

    [Fact]
    public void Regression_prints_the_notebooks_table_and_the_hash()
    {
        var r = DbpRunner.Run("train", "regression", "--steps", "120", "--log-every", "40");
        Assert.Equal(0, r.ExitCode);
        var lines = r.Out.Split('\n');
        Assert.Equal("iter,\tloss", lines[0]);
        Assert.StartsWith("0,\t", lines[1]);
        Assert.StartsWith("40,\t", lines[2]);
        Assert.StartsWith("80,\t", lines[3]);
        Assert.Matches("^param_hash [0-9a-f]{64}$", lines.Single(l => l.StartsWith("param_hash")));
    }

    [Fact]
    public void Regression_json_is_one_line_that_is_the_same_for_the_same_seed()
    {
        var a = Json(DbpRunner.Run("train", "regression", "--steps", "30", "--json"));
        var b = Json(DbpRunner.Run("train", "regression", "--steps", "30", "--json"));
        var c = Json(DbpRunner.Run("train", "regression", "--steps", "30", "--json", "--seed", "1"));
        foreach (var key in new[] { "final_loss", "steps", "seconds", "us_per_step", "param_hash" }) Assert.True(a.TryGetProperty(key, out _), key);
        Assert.Equal(30, a.GetProperty("steps").GetInt32());
        Assert.Equal(a.GetProperty("param_hash").GetString(), b.GetProperty("param_hash").GetString());
        Assert.NotEqual(a.GetProperty("param_hash").GetString(), c.GetProperty("param_hash").GetString());
    }

    [Fact]
    public void Threads_share_the_large_products_without_changing_the_bits()
    {
        // 600-wide layers: the products are over the size that is cut into blocks (by columns and by rows).
        string[] args = ["train", "regression", "--steps", "4", "--hidden", "600,600", "--lr", "0.001", "--json", "--workers", "0"];
        var one = Json(DbpRunner.Run([.. args, "--threads", "1"]));
        var three = Json(DbpRunner.Run([.. args, "--threads", "3"]));
        var two = Json(DbpRunner.Run([.. args, "--threads", "2", "--seed", "1"]));
        Assert.Equal(one.GetProperty("param_hash").GetString(), three.GetProperty("param_hash").GetString());
        Assert.NotEqual(one.GetProperty("param_hash").GetString(), two.GetProperty("param_hash").GetString());
        DbpRunner.AssertOneLineError(DbpRunner.Run([.. args, "--threads", "0"]), "--threads must be from 1 to 64, not 0");
        DbpRunner.AssertOneLineError(DbpRunner.Run([.. args, "--threads", "65"]), "--threads must be from 1 to 64, not 65");
    }

    [Fact]
    public void Regression_plot_is_a_png()
    {
        var path = Path.Combine(_dir, "fit.png");
        var r = DbpRunner.Run("train", "regression", "--steps", "5", "--plot", path);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, File.ReadAllBytes(path)[..4]);
    }

    [Theory]
    [InlineData("--samples must be from 1 to 10,000,000, not 0", "--samples", "0")]
    [InlineData("--steps must be from 1 to 1,000,000,000, not -5", "--steps", "-5")]
    [InlineData("--lr must be a positive number", "--lr", "0")]
    [InlineData("'abc'", "--lr", "abc")]
    [InlineData("--hidden: 'x' is not a positive whole number", "--hidden", "32,x")]
    [InlineData("--hidden: '0' is not a positive whole number", "--hidden", "0")]
    [InlineData("--activation: Argument 'swish' not recognized. Must be one of: 'tanh', 'sigmoid', 'relu'", "--activation", "swish")]
    [InlineData("--optimizer: Argument 'lbfgs' not recognized. Must be one of: 'sgd', 'momentum', 'nesterov', 'adam', 'adamw', 'rmsprop'", "--optimizer", "lbfgs")]
    [InlineData("--lr-schedule: Argument 'linear' not recognized", "--lr-schedule", "linear")]
    [InlineData("--micro-shard must be from 1 to 1,000,000, not 0", "--micro-shard", "0")]
    [InlineData("--momentum must be in [0, 1)", "--optimizer", "momentum", "--momentum", "1.5")]
    public void Impossible_hyper_parameters_are_one_line_errors(string expected, params string[] args)
    {
        var r = DbpRunner.Run(["train", "regression", .. args]);
        DbpRunner.AssertOneLineError(r, expected);
    }

    [Fact]
    public void Without_openblas_one_line_says_so_and_the_result_is_the_same()
    {
        // Layers wide enough that the products go to the BLAS (small ones never do).
        string[] args = ["train", "regression", "--steps", "20", "--hidden", "300,300", "--lr", "0.002", "--json", "--workers", "0"];
        var native = DbpProcess.Run(TimeSpan.FromMinutes(2), args);
        var managed = DbpProcess.Run(TimeSpan.FromMinutes(2), new Dictionary<string, string> { ["DBP_BLAS"] = "managed" }, args);
        Assert.Equal(0, managed.ExitCode);
        Assert.Equal(["dbp: matrix products run in managed code (MathNet.Numerics): DBP_BLAS=managed"], managed.Err.TrimEnd().Split('\n'));
        if (DistributedBackprop.Core.Blas.IsNative) Assert.DoesNotContain("managed code", native.Err); // CI installs libopenblas0
        // Different products may round differently: the loss, not the bits, must agree.
        double Loss(string stdout) => JsonDocument.Parse(stdout.TrimEnd().Split('\n')[^1]).RootElement.GetProperty("final_loss").GetDouble();
        Assert.Equal(Loss(native.Out), Loss(managed.Out), 3);
    }

    [Fact]
    public void An_unwritable_plot_leaves_nothing_behind()
    {
        var r = DbpRunner.Run("train", "regression", "--steps", "2", "--plot", Path.Combine(_dir, "no", "fit.png"));
        DbpRunner.AssertOneLineError(r, "does not exist");
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }
}
