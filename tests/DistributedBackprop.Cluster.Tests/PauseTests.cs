using System.Diagnostics;

namespace DistributedBackprop.Cluster.Tests;

/// <summary>
/// A node stopped with SIGSTOP (a long GC, a stalled VM) and continued with SIGCONT: the run ends with the
/// undisturbed param_hash. A worker paused past the failure detector is downed and comes back as a new
/// node; a paused server keeps its place (keep-oldest by its role) and its workers rejoin it.
/// </summary>
public class PauseTests
{
    // The table shows how far training has got, so the pause lands mid-run; the run lasts well past it.
    // A rejoining worker is used only if it is back before the run ends: about 15 s after the pause ends.
    // (40,000 steps once lasted long enough; at 0.65 ms a step, seen on 2026-12-02, the run ended before a
    // worker paused at step 1000 was back, and the worker found no server to rejoin.)
    private static readonly string[] Training = ["train", "regression", "--steps", "100000", "--hidden", "8,8", "--log-every", "1000"];

    private static void Pause(Process process, TimeSpan length)
    {
        Signal("STOP", process.Id);
        try { Thread.Sleep(length); }
        finally { Signal("CONT", process.Id); }
    }

    private static void Signal(string name, int pid)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{name}", pid.ToString()]) { UseShellExecute = false })!;
        Assert.True(kill.WaitForExit(10_000) && kill.ExitCode == 0, $"kill -{name} {pid} failed");
    }

    /// <summary>Trains on a server and 2 workers, pauses the node <paramref name="chosen"/> picks mid-run, and checks the end.</summary>
    private static Nodes.Node[] PausedRun(Func<Nodes.Node, Nodes.Node[], Nodes.Node> chosen, TimeSpan length)
    {
        using var nodes = new Nodes();
        int port = Nodes.FreePort();
        var server = nodes.ParameterServer(port, 2, Training);
        var workers = new[] { nodes.Worker(port), nodes.Worker(port) };
        server.WaitToPrint("1000,\t");
        Assert.False(server.Process.HasExited, "training ended before the pause");
        Pause(chosen(server, workers).Process, length);
        Assert.True(server.WaitForExit() == 0, server.Err);
        Assert.Equal(nodes.InProcessHash([.. Training, "--json"]), server.TableHash());
        foreach (var w in workers) Assert.True(w.WaitForExit(TimeSpan.FromSeconds(90)) == 0, w.Err);
        return workers;
    }

    [Fact]
    public void A_worker_paused_for_15_s_rejoins_and_the_hash_is_the_undisturbed_one()
    {
        var workers = PausedRun((_, w) => w[0], TimeSpan.FromSeconds(15));
        Assert.Contains("rejoined as a new node", workers[0].Err);
    }

    [Fact]
    public void A_server_paused_for_20_s_keeps_its_cluster_and_the_hash_is_the_undisturbed_one()
    {
        foreach (var w in PausedRun((server, _) => server, TimeSpan.FromSeconds(20))) Assert.Contains("rejoined as a new node", w.Err);
    }

    [Fact]
    public void Workers_of_a_failed_run_exit_non_zero()
    {
        using var nodes = new Nodes();
        int port = Nodes.FreePort();
        var checkpoint = Directory.CreateTempSubdirectory("dbp-failed-run-").FullName;
        try
        {
            // A checkpoint folder that is replaced by a file mid-run makes the server's next save fail.
            var server = nodes.ParameterServer(port, 1, ["train", "regression", "--steps", "24000", "--hidden", "8,8", "--log-every", "1000",
                "--checkpoint", checkpoint, "--checkpoint-every", "2000"]);
            var worker = nodes.Worker(port);
            server.WaitToPrint("1000,\t");
            Directory.Delete(checkpoint, true);
            File.WriteAllText(checkpoint, "not a folder");
            Assert.NotEqual(0, server.WaitForExit());
            Assert.NotEqual(0, worker.WaitForExit(TimeSpan.FromSeconds(90)));
            Assert.Contains("the run failed on the parameter server", worker.Err);
        }
        finally
        {
            if (File.Exists(checkpoint)) File.Delete(checkpoint);
            if (Directory.Exists(checkpoint)) Directory.Delete(checkpoint, true);
        }
    }
}
