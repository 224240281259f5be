using System.Text.Json;

namespace DistributedBackprop.Cluster.Tests;

/// <summary>
/// A worker node that computes wrong (<c>dbp node --role worker --chaos 'corrupt worker 0 ...'</c>) among honest
/// ones, caught by the server's audit across real processes: excluded, and the run ends with the parameters of
/// a run it never touched.
/// </summary>
public class AuditClusterTests
{
    private static readonly string[] Training = ["train", "regression", "--steps", "200", "--hidden", "8,8", "--micro-shard", "50", "--json"];
    private const string Corrupt = "corrupt worker 0 from step 20 x1000";

    private static (Nodes.Node Server, Nodes.Node[] Workers) Run(Nodes nodes, string audit)
    {
        int port = Nodes.FreePort();
        var server = nodes.ParameterServer(port, 3, [.. Training, "--audit", audit, "--resend-after", "0.5"]);
        var workers = new[] { nodes.Worker(port), nodes.Worker(port, "--chaos", Corrupt), nodes.Worker(port) };
        Assert.True(server.WaitForExit() == 0, server.Err);
        foreach (var w in workers) Assert.True(w.WaitForExit(TimeSpan.FromSeconds(60)) == 0, w.Err);
        return (server, workers);
    }

    private static string[] Replays(Nodes.Node server) => [.. server.Out.Split('\n').Where(l => l.Contains("\"event\":\"replay\""))];

    [Fact]
    public void With_every_node_audited_the_corrupting_worker_node_is_excluded_and_nothing_of_it_is_applied()
    {
        using var nodes = new Nodes();
        var (server, _) = Run(nodes, "1");
        Assert.Equal(nodes.InProcessHash(Training), server.LastJsonHash());
        Assert.Single(server.Err.Split('\n'), l => l.Contains("is out of the run") && l.Contains("(audit)"));
        Assert.Empty(Replays(server)); // every gradient it sent was checked: there was nothing to undo
    }

    [Fact]
    public void With_a_tenth_audited_the_corrupting_worker_node_is_caught_the_run_goes_back_and_ends_clean()
    {
        using var nodes = new Nodes();
        var (server, _) = Run(nodes, "0.1");
        Assert.Equal(nodes.InProcessHash(Training), server.LastJsonHash());
        Assert.Single(server.Err.Split('\n'), l => l.Contains("is out of the run") && l.Contains("(audit)"));
        var replay = JsonDocument.Parse(Assert.Single(Replays(server))).RootElement;
        Assert.True(replay.GetProperty("caught_at_step").GetInt64() >= 20, server.Out);
        Assert.Contains("/user/worker-host/worker", replay.GetProperty("worker").GetString());
    }
}
