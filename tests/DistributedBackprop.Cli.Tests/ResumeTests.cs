using System.Diagnostics;
using System.Text.Json;

namespace DistributedBackprop.Cli.Tests;

/// <summary>kill -9 at any moment, then --resume: the same final parameters as a run never interrupted.</summary>
[Collection("console")]
public class ResumeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dbp-kill-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string[] Training(int steps) => ["train", "regression", "--steps", steps.ToString(), "--hidden", "16", "--json", "--checkpoint-every", "40"];

    private static string Hash(string stdout) => JsonDocument.Parse(stdout.TrimEnd().Split('\n')[^1]).RootElement.GetProperty("param_hash").GetString()!;

    // The plain loop takes about 30 µs a step here: enough steps that the kill lands mid-way on a fast machine.
    [Theory]
    [InlineData("2", 150, 12000)]
    [InlineData("0", 400, 60000)]
    public void A_run_killed_mid_way_resumes_to_the_uninterrupted_hash(string workers, int killAfterMs, int steps)
    {
        var training = Training(steps);
        var limit = TimeSpan.FromMinutes(2);
        var straight = DbpProcess.Run(limit, [.. training, "--workers", workers]);
        Assert.True(straight.ExitCode == 0, straight.Err);

        var checkpoint = Path.Combine(_dir, "ckpt");
        using (var victim = DbpProcess.Start([.. training, "--workers", workers, "--checkpoint", checkpoint]))
        {
            var clock = Stopwatch.StartNew();
            while (!File.Exists(Path.Combine(checkpoint, "checkpoint.dbp")) && !victim.HasExited && clock.Elapsed < limit) Thread.Sleep(10);
            Thread.Sleep(killAfterMs);
            Assert.False(victim.HasExited, "the run ended before it could be killed");
            victim.Kill(); // SIGKILL: no chance to tidy up
            victim.WaitForExit();
        }
        Assert.True(File.Exists(Path.Combine(checkpoint, "checkpoint.dbp")));
        var resumed = DbpProcess.Run(limit, [.. training, "--workers", workers, "--checkpoint", checkpoint, "--resume"]);
        Assert.True(resumed.ExitCode == 0, resumed.Err);
        Assert.Equal(Hash(straight.Out), Hash(resumed.Out));
    }

    [Fact]
    public void A_checkpoint_from_other_settings_is_refused()
    {
        var checkpoint = Path.Combine(_dir, "other");
        Assert.Equal(0, DbpRunner.Run("train", "regression", "--steps", "3", "--json", "--workers", "0", "--checkpoint", checkpoint).ExitCode);
        var r = DbpRunner.Run("train", "regression", "--steps", "6", "--lr", "0.1", "--workers", "0", "--checkpoint", checkpoint, "--resume");
        DbpRunner.AssertOneLineError(r, "other settings");
    }

    [Fact]
    public void A_damaged_checkpoint_is_a_clear_error_and_is_left_as_it_was()
    {
        var checkpoint = Path.Combine(_dir, "bad");
        Directory.CreateDirectory(checkpoint);
        var file = Path.Combine(checkpoint, "checkpoint.dbp");
        File.WriteAllText(file, "not a checkpoint");
        var r = DbpRunner.Run("train", "regression", "--steps", "3", "--workers", "0", "--checkpoint", checkpoint, "--resume");
        DbpRunner.AssertOneLineError(r, "not a dbp checkpoint");
        Assert.Equal("not a checkpoint", File.ReadAllText(file));
    }

    [Fact]
    public void An_existing_checkpoint_is_not_overwritten_without_resume()
    {
        var checkpoint = Path.Combine(_dir, "keep");
        Assert.Equal(0, DbpRunner.Run("train", "regression", "--steps", "3", "--json", "--workers", "0", "--checkpoint", checkpoint).ExitCode);
        var before = File.ReadAllBytes(Path.Combine(checkpoint, "checkpoint.dbp"));
        DbpRunner.AssertOneLineError(DbpRunner.Run("train", "regression", "--steps", "3", "--workers", "0", "--checkpoint", checkpoint), "pass --resume");
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(checkpoint, "checkpoint.dbp")));
    }
}
