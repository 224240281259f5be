namespace DistributedBackprop.Cli.Tests;

/// <summary>Requests too large to run, and outputs dbp must not write: refused up front, one line, exit 2.</summary>
[Collection("console")]
public class LimitsAndOutputsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dbp-limits-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static void Refused(string expected, params string[] args)
    {
        var r = DbpRunner.Run(args);
        Assert.Equal(2, r.ExitCode);
        DbpRunner.AssertOneLineError(r, expected);
        Assert.Equal("", r.Out); // nothing ran
    }

    [Theory]
    [InlineData("--workers must be from 0 to 256, not 100,000", "--workers", "100000")]
    [InlineData("--hidden 20000,20000: 400,080,001 parameters, more than dbp trains", "--hidden", "20000,20000")]
    [InlineData("--hidden: a layer width must be from 1 to 65,536, not 100,000", "--hidden", "100000")]
    [InlineData("--samples must be from 1 to 10,000,000, not 20,000,000", "--samples", "20000000")]
    [InlineData("--samples must be from 1 to 10,000,000, not 0", "--samples", "0")]
    [InlineData("--steps must be from 1 to 1,000,000,000, not 2,000,000,000", "--steps", "2000000000")]
    [InlineData("--micro-shard must be from 1 to 1,000,000, not 0", "--micro-shard", "0")]
    [InlineData("cannot write '.jpg' files here; use .png", "--plot", "fit.jpg")]
    public void The_regression_refuses_what_it_cannot_run_before_it_starts(string expected, string flag, string value) =>
        Refused(expected, "train", "regression", flag, value);

    [Theory]
    [InlineData("--batch must be from 1 to 1,000,000, not 0", "--batch", "0")]
    [InlineData("--batch must be from 1 to 1,000,000, not 2,000,000", "--batch", "2000000")]
    [InlineData("--epochs must be from 1 to 100,000, not 0", "--epochs", "0")]
    [InlineData("--hidden 30000,4000: 143,594,010 parameters", "--hidden", "30000,4000")]
    public void Fashion_mnist_refuses_what_it_cannot_run_before_loading_any_data(string expected, string flag, string value) =>
        Refused(expected, "train", "fashion-mnist", "--data", "/nonexistent", flag, value);

    [Fact]
    public void A_plot_or_checkpoint_that_is_a_pipe_or_a_link_is_refused_before_training()
    {
        var fifo = Path.Combine(_dir, "fit.png");
        using (var p = System.Diagnostics.Process.Start("mkfifo", [fifo])!) p.WaitForExit();
        Refused("is a named pipe, not a regular file", "train", "regression", "--steps", "5", "--plot", fifo);
        var ckpt = Directory.CreateDirectory(Path.Combine(_dir, "ckpt")).FullName;
        File.CreateSymbolicLink(Path.Combine(ckpt, "checkpoint.dbp"), Path.Combine(_dir, "elsewhere"));
        Refused("is a symbolic link, not a regular file", "train", "regression", "--steps", "5", "--checkpoint", ckpt);
        Assert.False(File.Exists(Path.Combine(_dir, "elsewhere")));
    }

    [Fact]
    public void A_cluster_job_whose_gradient_exceeds_the_frame_size_is_refused_before_the_node_starts() =>
        Refused("a gradient of this model is 16.8 MB, more than the largest message between nodes",
            "node", "--role", "parameter-server", "--insecure", "--port", "0", "--", "train", "regression", "--hidden", "2048,2048", "--steps", "1");

    [Fact]
    public void Min_workers_is_bounded() =>
        Refused("--min-workers must be from 1 to 256, not 1,000", "node", "--role", "parameter-server", "--insecure", "--min-workers", "1000", "--", "train", "regression");

    [Fact]
    public void A_cluster_certificate_is_made_once_readable_by_its_owner_and_never_replaced()
    {
        var pfx = Path.Combine(_dir, "cluster.pfx");
        var r = DbpRunner.Run("cert", "--out", pfx, "--days", "10");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Matches("^wrote .*cluster.pfx: cluster certificate [0-9a-f]{64} \\(SHA-256\\), valid until ", r.Out);
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(pfx));
        var before = File.ReadAllBytes(pfx);
        Refused("exists: a cluster's certificate is not replaced by accident", "cert", "--out", pfx);
        Assert.Equal(before, File.ReadAllBytes(pfx));
        Refused("cannot write '.txt' files here; use .pfx, .p12", "cert", "--out", Path.Combine(_dir, "cluster.txt"));
        Refused("--days must be from 1 to 3,650, not 0", "cert", "--out", Path.Combine(_dir, "b.pfx"), "--days", "0");
    }
}
