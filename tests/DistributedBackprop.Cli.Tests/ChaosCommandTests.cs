using System.Text.Json;

namespace DistributedBackprop.Cli.Tests;

/// <summary>dbp train --chaos and --audit: the fault harness and the audit from the command line.</summary>
public class ChaosCommandTests
{
    private static readonly string[] Training = ["train", "regression", "--steps", "120", "--hidden", "8,8", "--micro-shard", "50", "--workers", "3", "--json"];

    private static string Hash(DbpRunner.Result r)
    {
        Assert.True(r.ExitCode == 0, r.Err);
        return JsonDocument.Parse(r.LastLine).RootElement.GetProperty("param_hash").GetString()!;
    }

    [Fact]
    public void A_corrupting_worker_is_caught_by_the_audit_and_the_run_ends_with_the_clean_hash()
    {
        var clean = Hash(DbpRunner.Run(Training));
        var audited = DbpRunner.Run([.. Training, "--chaos", "corrupt worker 1 from step 20 x1000; drop shard 0 of step 5", "--audit", "1", "--resend-after", "0.2"]);
        Assert.Equal(clean, Hash(audited));
        var spoiled = DbpRunner.Run([.. Training, "--chaos", "corrupt worker 1 from step 20 flip bits"]);
        Assert.NotEqual(clean, Hash(spoiled)); // unaudited, the bad arithmetic goes in
    }

    [Fact]
    public void With_a_partial_audit_the_run_goes_back_says_so_in_one_line_and_ends_with_the_clean_hash()
    {
        var clean = Hash(DbpRunner.Run(Training));
        var replayed = DbpRunner.Run([.. Training, "--chaos", "corrupt worker 1 from step 20 x1000", "--audit", "0.1"]);
        Assert.Equal(clean, Hash(replayed));
        var lines = replayed.Out.TrimEnd().Split('\n');
        var replay = JsonDocument.Parse(Assert.Single(lines, l => l.Contains("\"event\":\"replay\""))).RootElement;
        Assert.True(replay.GetProperty("caught_at_step").GetInt64() >= 20, replayed.Out); // it computed right before 20
        Assert.InRange(replay.GetProperty("from_step").GetInt64(), 0, 20);
        Assert.Equal(lines.Length - 2, Array.FindIndex(lines, l => l.Contains("replay"))); // then the result, as the last line
    }

    [Fact]
    public void An_epoch_job_replayed_within_its_epochs_writes_the_clean_runs_metrics_and_hash()
    {
        var dir = Directory.CreateTempSubdirectory("dbp-replay-").FullName;
        try
        {
            string[] stones = [.. CsvWorkflowTests.With(CsvWorkflowTests.Stones, "--epochs", "2"), "--workers", "3"];
            var clean = DbpRunner.Run([.. stones, "--metrics", Path.Combine(dir, "clean.csv")]);
            var replayed = DbpRunner.Run([.. stones, "--metrics", Path.Combine(dir, "replayed.csv"), "--audit", "0.1", "--chaos", "corrupt worker 1 from step 3 x1000"]);
            Assert.Equal(Hash(clean), Hash(replayed));
            Assert.Contains("\"event\":\"replay\"", replayed.Out);
            // Every step once, with the clean run's loss to the last bit: what the replay undid is gone.
            Assert.Equal(File.ReadAllText(Path.Combine(dir, "clean.csv")), File.ReadAllText(Path.Combine(dir, "replayed.csv")));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Theory]
    [InlineData("a worker node takes only 'corrupt worker 0", "--role", "worker", "--chaos", "corrupt worker 1 from step 2 x10")]
    [InlineData("a worker node takes only 'corrupt worker 0", "--role", "worker", "--chaos", "stop worker 0 at step 2")]
    [InlineData("--chaos: 'explode' is not a statement", "--role", "worker", "--chaos", "explode")]
    [InlineData("--chaos is a worker node's", "--role", "parameter-server", "--chaos", "corrupt worker 0 from step 2 x10")]
    public void A_nodes_chaos_is_only_its_own_bad_arithmetic(string expected, params string[] flags)
    {
        var r = DbpRunner.Run(["node", "--insecure", "--seed-nodes", "akka.tcp://dbp@127.0.0.1:1", .. flags]);
        DbpRunner.AssertBadInput(r, expected);
    }

    [Theory]
    [InlineData("--chaos: 'explode' is not a statement", "--chaos", "explode", "--workers", "2")]
    [InlineData("--audit must be from 0 to 1, not 1.5", "--audit", "1.5", "--workers", "2")]
    [InlineData("--resend-after must be from 0.01 to 3600 seconds", "--resend-after", "0", "--workers", "2")]
    [InlineData("--chaos and --audit act on worker actors", "--chaos", "stop worker 0 at step 1", "--workers", "0")]
    [InlineData("--staleness must be from 0 to 4, not 5", "--staleness", "5")]
    [InlineData("--staleness and --audit do not go together yet", "--staleness", "1", "--audit", "0.5", "--workers", "2")]
    [InlineData("--staleness and --checkpoint do not go together yet", "--staleness", "1", "--checkpoint", "never-made")]
    [InlineData("--staleness and a --chaos plan that drops gradients", "--staleness", "2", "--chaos", "drop gradient 0 of step 1", "--workers", "2")]
    public void Bad_harness_flags_are_one_line_and_exit_2(string expected, params string[] flags)
    {
        var r = DbpRunner.Run(["train", "regression", "--steps", "3", .. flags]);
        DbpRunner.AssertBadInput(r, expected);
    }
}
