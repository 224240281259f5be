using System.Net.Sockets;

namespace DistributedBackprop.Cluster.Tests;

/// <summary>A parameter-server node and worker nodes as real processes: the same parameters as one process.</summary>
public class ClusterTrainingTests
{
    private static readonly string[] Regression = ["train", "regression", "--steps", "400", "--hidden", "8,8", "--json"];

    private static string InProcessHash(Nodes nodes, string[] training) => nodes.InProcessHash(training);

    [Fact]
    public void Three_nodes_train_to_the_in_process_hash_and_all_exit_cleanly()
    {
        using var nodes = new Nodes();
        int port = Nodes.FreePort();
        var server = nodes.ParameterServer(port, 2, Regression);
        // One worker through shared memory (the default on one machine), one by socket: the same bits either way.
        var workers = new[] { nodes.Worker(port), nodes.Worker(port, "--shared-memory", "off") };
        Assert.True(server.WaitForExit() == 0, server.Err);
        foreach (var w in workers) Assert.True(w.WaitForExit(TimeSpan.FromSeconds(60)) == 0, w.Err);
        Assert.Contains("tensors through shared memory", workers[0].Err);
        Assert.Contains("tensors by socket (shared memory is off here)", workers[1].Err);
        Assert.Equal(2, server.LastJson().GetProperty("workers").GetInt32());
        Assert.Equal(InProcessHash(nodes, Regression), server.LastJsonHash());
        // The tensors went by the data channel: 400 steps of two 388-byte gradients in, at the least.
        var moved = System.Text.RegularExpressions.Regex.Match(server.Err, @"data channel: ([\d.]+) MB of tensors");
        Assert.True(moved.Success, server.Err);
        Assert.InRange(double.Parse(moved.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 0.3, 100);
        // Said through the node's logger, like every other line it writes: time-stamped, with its level.
        Assert.Matches(@"(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info +dbp: data channel: [\d.]+ MB of tensors", server.Err);
    }

    [Fact]
    public void With_staleness_the_cluster_trains_to_the_in_process_hash_of_the_same_staleness()
    {
        using var nodes = new Nodes();
        int port = Nodes.FreePort();
        string[] stale = [.. Regression, "--staleness", "2"];
        var server = nodes.ParameterServer(port, 2, stale);
        var workers = new[] { nodes.Worker(port), nodes.Worker(port) };
        Assert.True(server.WaitForExit() == 0, server.Err);
        foreach (var w in workers) Assert.True(w.WaitForExit(TimeSpan.FromSeconds(60)) == 0, w.Err);
        Assert.Equal(InProcessHash(nodes, stale), server.LastJsonHash());
        Assert.NotEqual(InProcessHash(nodes, Regression), server.LastJsonHash()); // the staleness did take effect
    }

    [Fact]
    public void A_worker_killed_mid_run_has_its_shards_done_by_the_others()
    {
        using var nodes = new Nodes();
        int port = Nodes.FreePort();
        // The table (not --json) shows how far training has got: the kill lands mid-run, after step 300.
        string[] longer = ["train", "regression", "--steps", "6000", "--hidden", "8,8", "--log-every", "300"];
        var server = nodes.ParameterServer(port, 3, longer);
        var workers = new[] { nodes.Worker(port), nodes.Worker(port), nodes.Worker(port) };
        server.WaitToPrint("300,\t");
        Assert.False(server.Process.HasExited, "training ended before a worker could be killed");
        workers[0].Process.Kill(); // SIGKILL
        Assert.True(server.WaitForExit() == 0, server.Err);
        Assert.Equal(InProcessHash(nodes, [.. longer, "--json"]), server.TableHash());
    }

    [Fact]
    public void A_worker_that_joins_late_is_used_and_changes_nothing()
    {
        using var nodes = new Nodes();
        int port = Nodes.FreePort();
        // Long enough for a second node to start and join on a loaded machine: a cluster step here takes 0.1-0.2 ms
        // (24000 steps ended before the late node joined in a full test run).
        string[] training = ["train", "regression", "--steps", "80000", "--hidden", "8,8", "--json"];
        var server = nodes.ParameterServer(port, 1, training);
        var first = nodes.Worker(port);
        first.WaitToSay("joined");
        Thread.Sleep(500);
        var late = nodes.Worker(port);
        Assert.True(server.WaitForExit() == 0, server.Err);
        Assert.Equal(0, late.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Equal(2, server.LastJson().GetProperty("workers").GetInt32());
        Assert.Equal(InProcessHash(nodes, training), server.LastJsonHash());
    }

    [Fact]
    public void Garbage_on_the_remoting_port_does_not_bring_the_server_down()
    {
        using var nodes = new Nodes();
        int port = Nodes.FreePort();
        var server = nodes.ParameterServer(port, 1, Regression);
        server.WaitToSay("waiting for");
        var rng = new Random(5);
        for (int i = 0; i < 20; i++)
        {
            using var client = new TcpClient("127.0.0.1", port);
            var junk = new byte[rng.Next(1, 4096)];
            rng.NextBytes(junk);
            try { client.GetStream().Write(junk); } catch (IOException) { } // the node may hang up: that is its right
        }
        nodes.Worker(port);
        Assert.True(server.WaitForExit() == 0, server.Err);
        Assert.Equal(InProcessHash(nodes, Regression), server.LastJsonHash());
    }
}
