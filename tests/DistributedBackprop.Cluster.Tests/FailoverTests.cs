using System.Text.RegularExpressions;

namespace DistributedBackprop.Cluster.Tests;

/// <summary>
/// Two parameter-server nodes with the same job: the oldest is active, the other stands by with its state.
/// The active one is killed (kill -9) mid-run; the standby takes over, its workers carry on with it, and the
/// run ends with the param_hash of a run that was never disturbed.
/// </summary>
public class FailoverTests
{
    private static readonly string[] Training = ["train", "regression", "--steps", "4000", "--hidden", "8,8", "--log-every", "500"];

    private static Nodes.Node Server(Nodes nodes, int port, string seeds) =>
        nodes.Start(["node", "--role", "parameter-server", "--port", port.ToString(), "--seed-nodes", seeds, "--min-workers", "2",
            "--join-timeout", "60", "--tls-cert", Nodes.Certificate, "--", .. Training]);

    private static Nodes.Node Worker(Nodes nodes, string seeds) =>
        nodes.Start(["node", "--role", "worker", "--seed-nodes", seeds, "--join-timeout", "30", "--tls-cert", Nodes.Certificate]);

    [Fact]
    public void The_standby_takes_over_from_a_killed_active_server_and_ends_with_the_undisturbed_hash()
    {
        using var nodes = new Nodes();
        int first = Nodes.FreePort(), second = Nodes.FreePort();
        var seeds = $"{Nodes.Seed(first)},{Nodes.Seed(second)}";
        var active = Server(nodes, first, seeds);
        active.WaitToSay("the active parameter server");
        var standby = Server(nodes, second, seeds); // younger, so a standby
        var workers = new[] { Worker(nodes, seeds), Worker(nodes, seeds) };
        active.WaitToPrint("1000,\t");
        Assert.False(active.Process.HasExited, "training ended before the kill");
        active.Process.Kill(); // SIGKILL: no goodbye, no hand-over
        Assert.True(standby.WaitForExit() == 0, standby.Err);
        // Downed because its port refused connections, not after the failure detector's pause.
        // The whole log on failure (Assert.Contains cuts it short): it failed once in a full CI run, 2026-12-02 13:16, and passed alone.
        Assert.True(standby.Err.Contains($"node {Nodes.Seed(first)}: its connection dropped and its port refused"), standby.Err);
        // It resumed from a state the active one sent it, not from the start.
        var from = Regex.Match(standby.Err, @"the active parameter server, from step (\d+)");
        Assert.True(from.Success, standby.Err);
        Assert.InRange(long.Parse(from.Groups[1].Value), 1, 3999);
        Assert.Equal(nodes.InProcessHash([.. Training, "--json"]), standby.TableHash());
        foreach (var w in workers) Assert.True(w.WaitForExit(TimeSpan.FromSeconds(60)) == 0, w.Err);
    }
}
