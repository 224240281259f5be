using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace DistributedBackprop.Cli.Bench;

/// <summary>
/// A cluster on this machine for the benchmark: a parameter-server node and worker nodes as dbp processes on
/// 127.0.0.1, started, waited for (bounded) and stopped by the ids of the processes it started. What it
/// reports is what the nodes print: the last epoch's samples/s, and what the data channel moved and cost.
/// </summary>
public static partial class ClusterRun
{
    public sealed record Result(double SamplesPerSecond, string ParamHash, double MegabytesMoved, double ServerCpuPerMb, double WorkerCpuPerMb);

    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Trains <paramref name="training"/> (flags after <c>train</c>) with <paramref name="workers"/> worker
    /// nodes, with mutual TLS as <c>dbp node</c> has it by default: a cluster certificate made for the run.
    /// </summary>
    public static Result Train(int workers, IReadOnlyList<string> training)
    {
        var folder = Directory.CreateTempSubdirectory("dbp-bench-").FullName;
        try
        {
            var certificate = Path.Combine(folder, "cluster.pfx");
            Self.LastLine(["cert", "--out", certificate], TimeSpan.FromMinutes(1));
            return Train(workers, training, ["--tls-cert", certificate]);
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    private static Result Train(int workers, IReadOnlyList<string> training, IReadOnlyList<string> nodeFlags)
    {
        int port = DistributedBackprop.Actors.FreePort.OnLoopback();
        var started = new List<(Process Process, StringBuilder Err, StringBuilder Out)>();
        try
        {
            var server = Start(["node", "--role", "parameter-server", "--port", port.ToString(CultureInfo.InvariantCulture), "--min-workers", workers.ToString(CultureInfo.InvariantCulture),
                .. nodeFlags, "--", "train", .. training], started);
            for (int i = 0; i < workers; i++) Start(["node", "--role", "worker", "--seed-nodes", $"akka.ssl.tcp://dbp@127.0.0.1:{port}", .. nodeFlags], started);
            if (!server.Process.WaitForExit(Limit)) throw new TimeoutException($"a cluster run took over {Limit.TotalMinutes} minutes");
            server.Process.WaitForExit();
            if (server.Process.ExitCode != 0) throw new IOException($"the parameter-server node failed: {Last(server.Err.ToString())}");
            foreach (var (p, _, _) in started.Skip(1)) p.WaitForExit(TimeSpan.FromSeconds(30));
            var line = JsonDocument.Parse(Last(server.Out.ToString())).RootElement;
            var (mb, serverCpu) = Channel(server.Err.ToString());
            var workerCpu = started.Skip(1).Select(w => Channel(w.Err.ToString()).CpuPerMb).DefaultIfEmpty(double.NaN).Max();
            return new Result(line.GetProperty("samples_per_s").GetDouble(), line.GetProperty("param_hash").GetString()!, mb, serverCpu, workerCpu);
        }
        finally
        {
            foreach (var (p, _, _) in started)
            {
                try { if (!p.HasExited) p.Kill(entireProcessTree: true); }
                catch (InvalidOperationException) { }
                p.Dispose();
            }
        }
    }

    private static (Process Process, StringBuilder Err, StringBuilder Out) Start(string[] args, List<(Process, StringBuilder, StringBuilder)> started)
    {
        var run = Self.Start(args);
        started.Add(run);
        return run;
    }

    [GeneratedRegex(@"data channel: ([\d.]+) MB of tensors, \d+ ms of CPU on the data path \(([\d.]+) ms per MB\)")]
    private static partial Regex ChannelLine();

    /// <summary>The node's own account of its data channel (the last such line it wrote), or NaN where it wrote none.</summary>
    public static (double Mb, double CpuPerMb) Channel(string stderr) =>
        ChannelLine().Matches(stderr) is { Count: > 0 } m
            ? (double.Parse(m[^1].Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(m[^1].Groups[2].Value, CultureInfo.InvariantCulture))
            : (double.NaN, double.NaN);

    private static string Last(string text) => text.TrimEnd().Split('\n')[^1];
}
