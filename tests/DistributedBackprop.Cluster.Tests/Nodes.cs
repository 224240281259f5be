using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace DistributedBackprop.Cluster.Tests;

/// <summary>
/// Real dbp processes on 127.0.0.1, started by a test and all stopped (by the processes it holds) when it is
/// disposed. Every wait is bounded. The nodes share one cluster certificate (made once per test run, in a
/// temporary folder); a rogue is given another one, or none.
/// </summary>
public sealed class Nodes : IDisposable
{
    public static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);
    private readonly List<Node> _started = [];

    private static readonly string Folder = Directory.CreateTempSubdirectory("dbp-cluster-tests-").FullName;

    /// <summary>A new certificate file (each call a different certificate).</summary>
    public static string NewCertificate(string name)
    {
        var path = Path.Combine(Folder, $"{name}-{Guid.NewGuid():N}.pfx");
        using var cert = DistributedBackprop.Actors.ClusterTls.Create(30);
        File.WriteAllBytes(path, DistributedBackprop.Actors.ClusterTls.Export(cert, null));
        return path;
    }

    /// <summary>The cluster's certificate, the one every honest node of every test holds.</summary>
    public static readonly string Certificate = NewCertificate("cluster");

    public static string Seed(int port) => $"akka.ssl.tcp://dbp@127.0.0.1:{port}";

    public sealed class Node(Process process)
    {
        private readonly StringBuilder _out = new(), _err = new();
        public Process Process { get; } = process;
        public string Out { get { lock (_out) return _out.ToString(); } }
        public string Err { get { lock (_err) return _err.ToString(); } }

        internal void Capture()
        {
            Process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_out) _out.AppendLine(e.Data); };
            Process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_err) _err.AppendLine(e.Data); };
            Process.BeginOutputReadLine();
            Process.BeginErrorReadLine();
        }

        public int WaitForExit(TimeSpan? limit = null)
        {
            if (!Process.WaitForExit(limit ?? Limit)) Assert.Fail($"a node did not finish in {limit ?? Limit}; stderr: {Err}");
            Process.WaitForExit(); // drain the output
            return Process.ExitCode;
        }

        /// <summary>Waits (bounded) until the node has said <paramref name="text"/> on standard error.</summary>
        public void WaitToSay(string text) => WaitFor(() => Err, text);

        /// <summary>Waits (bounded) until the node has printed <paramref name="text"/> on standard output.</summary>
        public void WaitToPrint(string text) => WaitFor(() => Out, text);

        private void WaitFor(Func<string> stream, string text)
        {
            var clock = Stopwatch.StartNew();
            while (!stream().Contains(text) && !Process.HasExited && clock.Elapsed < Limit) Thread.Sleep(50);
            Assert.True(stream().Contains(text), $"the node never wrote '{text}'; stderr: {Err}");
        }

        /// <summary>The hash on the "param_hash ..." line of the table output.</summary>
        public string TableHash() => Out.Split('\n').Single(l => l.StartsWith("param_hash ")).Trim()["param_hash ".Length..];

        public string LastJsonHash() => JsonDocument.Parse(Out.TrimEnd().Split('\n')[^1]).RootElement.GetProperty("param_hash").GetString()!;
        public JsonElement LastJson() => JsonDocument.Parse(Out.TrimEnd().Split('\n')[^1]).RootElement;
    }

    public static int FreePort() => Actors.FreePort.OnLoopback();

    public Node Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "dbp.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        var node = new Node(Process.Start(info)!);
        node.Capture();
        _started.Add(node);
        return node;
    }

    public Node ParameterServer(int port, int minWorkers, params string[] training) =>
        Start(["node", "--role", "parameter-server", "--port", port.ToString(), "--min-workers", minWorkers.ToString(), "--join-timeout", "60",
            "--tls-cert", Certificate, "--", .. training]);

    /// <summary>A worker with the cluster's certificate, unless <paramref name="extra"/> gives it another (or --insecure).</summary>
    public Node Worker(int port, params string[] extra) =>
        Start(["node", "--role", "worker", "--seed-nodes", Seed(port), .. extra.Contains("--join-timeout") ? [] : new[] { "--join-timeout", "30" },
            .. extra.Contains("--tls-cert") || extra.Contains("--insecure") ? [] : new[] { "--tls-cert", Certificate }, .. extra]);

    /// <summary>The same training in one process, for the hash to compare with.</summary>
    public Node InProcess(params string[] training) => Start([.. training]);

    private static readonly Dictionary<string, string> Hashes = [];

    /// <summary>The param_hash of <paramref name="training"/> (with --json) in one process with 2 worker actors; each computed once.</summary>
    public string InProcessHash(params string[] training)
    {
        string[] json = [.. training.Where(a => a != "--json"), "--json", "--workers", "2"];
        var key = string.Join(" ", json);
        lock (Hashes) if (Hashes.TryGetValue(key, out var known)) return known;
        var single = InProcess(json);
        Assert.True(single.WaitForExit() == 0, single.Err);
        lock (Hashes) return Hashes[key] = single.LastJsonHash();
    }

    public void Dispose()
    {
        foreach (var node in _started)
        {
            try { if (!node.Process.HasExited) node.Process.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
            node.Process.Dispose();
        }
    }
}
