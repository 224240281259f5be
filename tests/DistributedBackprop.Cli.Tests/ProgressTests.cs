namespace DistributedBackprop.Cli.Tests;

public class ProgressTests
{
    [Fact]
    public void The_bar_fits_a_60_column_terminal_and_shows_rate_and_time_left()
    {
        var line = ProgressBar.Line("epoch 1", 300, 938, "loss 0.5123", seconds: 2.0, width: 60);
        Assert.True(line.Length <= 59, $"{line.Length} columns: {line}");
        Assert.Contains("150 steps/s", line);                 // 300 steps in 2 s
        Assert.Contains("0:04 left", line);                   // 638 more at 150 a second
        Assert.Contains("[", line);
        var narrow = ProgressBar.Line("epoch 1", 300, 938, "loss 0.5123", seconds: 2.0, width: 30);
        Assert.True(narrow.Length <= 29);
        Assert.DoesNotContain("[", narrow);                   // no room for a bar: none, and the line is cut
    }

    [Fact]
    public void A_stopped_run_says_what_it_kept_and_the_command_that_goes_on()
    {
        var dir = Directory.CreateTempSubdirectory("dbp-hint-").FullName;
        try
        {
            string[] args = ["train", "regression", "--steps", "30", "--checkpoint-every", "10", "--checkpoint", dir, "--json"];
            Assert.Equal(0, DbpRunner.Run(args).ExitCode);
            var settings = LocalSettings();
            var hint = TrainRequest.ResumeHint(new DistributedBackprop.Training.CheckpointPolicy(dir, 10), settings, args);
            Assert.Contains("before step 30", hint);
            Assert.EndsWith($"go on with: dbp {string.Join(' ', args)} --resume", hint);
            Assert.Contains("--checkpoint DIR", TrainRequest.ResumeHint(null, settings, args));
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>The settings `dbp train regression --steps 30` trains with (its defaults).</summary>
    private static DistributedBackprop.Training.TrainingSettings LocalSettings()
    {
        var job = new DistributedBackprop.Training.TrainingJob(DistributedBackprop.Training.TrainingJob.Regression, [32, 32], "tanh", 200, 0, null);
        return new(job.Objective(), new DistributedBackprop.Nn.Sgd(0.05), new DistributedBackprop.Data.Batches(200, 200, false, 0), 30, 200, 0);
    }
}
