using System.Buffers.Binary;

namespace DistributedBackprop.Cluster.Tests;

public class BadInputTests
{
    [Fact]
    public void A_worker_with_no_parameter_server_at_its_seed_fails_clearly_within_its_timeout()
    {
        using var nodes = new Nodes();
        int port = Nodes.FreePort(); // nothing listens here
        var worker = nodes.Worker(port, "--join-timeout", "5");
        Assert.NotEqual(0, worker.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains("could not join the cluster", worker.Err);
        Assert.Contains("nothing answers at", worker.Err);
        Assert.DoesNotContain("   at ", worker.Err);
    }

    [Theory]
    [InlineData("akka.tcp://other@127.0.0.1:4053", "names cluster 'other'")]
    [InlineData("not-an-address", "is not an address")]
    public void A_wrong_seed_address_or_cluster_name_is_refused_at_once(string seed, string message)
    {
        using var nodes = new Nodes();
        var worker = nodes.Start("node", "--role", "worker", "--seed-nodes", seed);
        Assert.Equal(2, worker.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains(message, worker.Err);
    }

    [Fact]
    public void A_parameter_server_without_a_job_says_what_it_needs()
    {
        using var nodes = new Nodes();
        var server = nodes.Start("node", "--role", "parameter-server", "--port", Nodes.FreePort().ToString(), "--tls-cert", Nodes.Certificate);
        Assert.Equal(2, server.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains("needs its job after --", server.Err);
    }

    [Theory]
    [InlineData("", "needs the cluster's certificate")]
    [InlineData("--insecure --hostname 10.1.2.3", "--insecure is for loopback only, and '10.1.2.3' is not")]
    [InlineData("--insecure --seed-nodes akka.tcp://dbp@192.0.2.1:4053", "'192.0.2.1' is not")]
    [InlineData("--tls-cert /nonexistent/cluster.pfx", "cannot read the cluster certificate")]
    [InlineData("--tls-cert {garbage}", "cannot open the cluster certificate")]
    [InlineData("--insecure --tls-cert {cluster}", "contradict each other")]
    public void A_node_without_a_usable_certificate_is_refused_at_once_and_starts_nothing(string flags, string message)
    {
        var garbage = Path.Combine(Path.GetTempPath(), $"dbp-garbage-{Guid.NewGuid():N}.pfx");
        File.WriteAllBytes(garbage, new byte[] { 0x30, 0x82, 1, 2, 3 });
        try
        {
            using var nodes = new Nodes();
            string[] args = ["node", "--role", "worker", .. flags.Replace("{garbage}", garbage).Replace("{cluster}", Nodes.Certificate)
                .Split(' ', StringSplitOptions.RemoveEmptyEntries)];
            if (!args.Contains("--seed-nodes")) args = [.. args, "--seed-nodes", Nodes.Seed(Nodes.FreePort())];
            var node = nodes.Start(args);
            Assert.Equal(2, node.WaitForExit(TimeSpan.FromSeconds(60)));
            var lines = node.Err.TrimEnd().Split('\n');
            Assert.Contains(message, lines[^1]);
            Assert.DoesNotContain("joined", node.Err);
            Assert.DoesNotContain("   at ", node.Err);
        }
        finally { File.Delete(garbage); }
    }

    private static void WriteIdx(string path, int[] shape, byte[] data)
    {
        var bytes = new byte[4 + 4 * shape.Length + data.Length];
        bytes[2] = 0x08;
        bytes[3] = (byte)shape.Length;
        for (int i = 0; i < shape.Length; i++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), shape[i]);
        data.CopyTo(bytes, 4 + 4 * shape.Length);
        File.WriteAllBytes(path, bytes);
    }

    [Fact]
    public void A_worker_that_cannot_find_the_data_says_so_and_leaves()
    {
        var data = Directory.CreateTempSubdirectory("dbp-fm-").FullName;
        try
        {
            foreach (var (prefix, n) in new[] { ("train", 64), ("t10k", 16) })
            {
                WriteIdx(Path.Combine(data, $"{prefix}-images-idx3-ubyte"), [n, 28, 28], new byte[n * 784]);
                WriteIdx(Path.Combine(data, $"{prefix}-labels-idx1-ubyte"), [n], Enumerable.Range(0, n).Select(i => (byte)(i % 10)).ToArray());
            }
            using var nodes = new Nodes();
            int port = Nodes.FreePort();
            // Long enough for a worker process to start and join on a busy machine: a server gone first would end it cleanly.
            var server = nodes.Start("node", "--role", "parameter-server", "--port", port.ToString(), "--min-workers", "1", "--join-timeout", "20",
                "--tls-cert", Nodes.Certificate, "--", "train", "fashion-mnist", "--data", data, "--epochs", "1", "--json");
            server.WaitToSay("waiting for");
            Thread.Sleep(1000); // the server has loaded its copy; the worker will find none
            Directory.Delete(data, true);
            var worker = nodes.Worker(port);
            Assert.NotEqual(0, worker.WaitForExit(TimeSpan.FromSeconds(60)));
            Assert.Contains("cannot run the job", worker.Err);
            Assert.Contains("dataset-fashion-mnist", worker.Err);
            Assert.NotEqual(0, server.WaitForExit(TimeSpan.FromSeconds(60)));
            Assert.Contains("of 1 worker nodes joined", server.Err);
        }
        finally { if (Directory.Exists(data)) Directory.Delete(data, true); }
    }
}
