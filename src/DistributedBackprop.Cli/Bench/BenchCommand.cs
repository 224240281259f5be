using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DistributedBackprop.Actors;
using DistributedBackprop.Core;
using DistributedBackprop.Data;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;

namespace DistributedBackprop.Cli.Bench;

/// <summary>
/// <c>dbp bench</c>: our speed in the units the PyTorch peers print, measured in the same sitting as the
/// peers, alternating, with medians and ratios — the machine is shared and noisy, only ratios travel.
/// </summary>
public static class BenchCommand
{
    private sealed record Row(string Task, string Unit, List<double> Ours, List<double> Peer, bool HigherIsBetter, string PeerName = "PyTorch")
    {
        public double? Ratio => Peer.Count == 0 ? null : HigherIsBetter ? Median(Ours) / Median(Peer) : Median(Peer) / Median(Ours);
    }

    public static Command Create()
    {
        var rounds = new Option<int>("--rounds") { Description = "alternating rounds of ours and the peers; medians are reported", DefaultValueFactory = _ => 3 };
        var steps = new Option<long>("--steps") { Description = "regression steps a round", DefaultValueFactory = _ => 2000 };
        var data = new Option<string>("--data") { Description = "Fashion-MNIST folder", DefaultValueFactory = _ => FashionMnist.DefaultFolder };
        var peers = new Option<string?>("--peers") { Description = "folder of the PyTorch peers (default: ../shared/peers, found upwards)" };
        var python = new Option<string>("--python") { Description = "the interpreter that has PyTorch", DefaultValueFactory = _ => "/usr/bin/python3" };
        var noPeers = new Option<bool>("--no-peers") { Description = "measure our side only" };
        var distributed = new Option<bool>("--distributed") { Description = "also Fashion-MNIST at batch 256: the plain loop, 1, 2 and 4 worker actors, PyTorch at every core, and clusters of 2 and 3 worker nodes on this machine" };
        var json = new Option<bool>("--json") { Description = "one JSON line per measurement" };
        var command = new Command("bench", "Speed against the PyTorch peers, run in the same sitting: regression steps/s, Fashion-MNIST samples/s, matrix-product GFLOPS")
        {
            rounds, steps, data, peers, python, noPeers, distributed, json,
        };
        command.SetAction(r =>
        {
            TrainOptions.Positive("--rounds", r.GetValue(rounds));
            TrainOptions.Positive("--steps", r.GetValue(steps));
            var folder = r.GetValue(noPeers) ? null : Peers.Find(r.GetValue(peers));
            var peer = folder is null ? null : new Peers(folder, r.GetValue(python)!);
            if (peer is not null && !peer.Available())
            {
                Console.Error.WriteLine($"dbp: {r.GetValue(python)} cannot import torch (apt-get install python3-torch): measuring our side only");
                peer = null;
            }
            Run(r.GetValue(rounds), r.GetValue(steps), r.GetValue(data)!, peer, r.GetValue(distributed), r.GetValue(json));
            return 0;
        });
        return command;
    }

    private static void Run(int rounds, long steps, string dataFolder, Peers? peer, bool distributed, bool json)
    {
        void Say(string line) { if (!json) Console.Error.WriteLine(line); }
        Say($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, BLAS {Blas.Provider}, load {Load()}");
        var regression = new Row("regression step (1-32-32-1 tanh, 200 points)", "µs/step", [], [], HigherIsBetter: false);
        // Ours on every core (the default) and on one, against PyTorch at one thread (its fastest here) and at every core.
        int cores = Environment.ProcessorCount;
        var fashion = new Row("Fashion-MNIST 784-256-10, batch 64", "samples/s", [], [], HigherIsBetter: true);
        var fashionOneThread = new Row("  the same, ours at 1 thread", "samples/s", [], [], HigherIsBetter: true);
        var fashionPeerThreads = new Row($"  the same, PyTorch at {cores} threads", "samples/s", [], [], HigherIsBetter: true);
        var (train, test) = FashionMnist.Load(dataFolder);
        MeasureRegression(200); // warm up the JIT
        for (int round = 1; round <= rounds; round++)
        {
            Say($"round {round} of {rounds}");
            regression.Ours.Add(MeasureRegression(steps));
            if (peer is not null) regression.Peer.Add(peer.Regression(steps, 0).GetProperty("us_per_step").GetDouble());
            fashion.Ours.Add(MeasureFashion(train, test, 64, 64, workers: 0));
            fashionOneThread.Ours.Add(MeasureFashion(train, test, 64, 64, workers: 0, threads: 1));
            if (peer is not null)
            {
                fashion.Peer.Add(peer.Fashion(dataFolder, 64).GetProperty("samples_per_s").GetDouble());
                fashionOneThread.Peer.Add(fashion.Peer[^1]);
                if (cores > 1)
                {
                    fashionPeerThreads.Ours.Add(fashion.Ours[^1]);
                    fashionPeerThreads.Peer.Add(peer.Fashion(dataFolder, 64, cores).GetProperty("samples_per_s").GetDouble());
                }
            }
        }
        var rows = new List<Row> { regression, fashion, fashionOneThread };
        if (fashionPeerThreads.Peer.Count > 0) rows.Add(fashionPeerThreads);
        if (distributed) rows.AddRange(Distributed(rounds, dataFolder, train, test, peer, Say));
        foreach (var (shape, threads, gflops) in Gemm(cores)) rows.Add(new Row($"sgemm {shape}, {threads} thread(s)", "GFLOPS", [gflops], [], true));
        Report(rows, json);
    }

    /// <summary>
    /// Fashion-MNIST at batch 256 with the default micro-shard (four a step), the same param_hash everywhere:
    /// the plain loop, worker actors in this process, PyTorch on every core, and clusters on this machine
    /// (their second epoch: each node is a new process), alternating in every round.
    /// </summary>
    private static IEnumerable<Row> Distributed(int rounds, string dataFolder, Dataset train, Dataset test, Peers? peer, Action<string> say)
    {
        int cores = Environment.ProcessorCount;
        var (plain, one, two, four, torch) = (new List<double>(), new List<double>(), new List<double>(), new List<double>(), new List<double>());
        var (twoNodes, threeNodes) = (new List<ClusterRun.Result>(), new List<ClusterRun.Result>());
        string[] training = ["fashion-mnist", "--batch", "256", "--epochs", "2", "--json", "--data", dataFolder];
        for (int round = 1; round <= rounds; round++)
        {
            say($"distributed round {round} of {rounds}");
            plain.Add(MeasureFashion(train, test, 256, 64, workers: 0));
            two.Add(MeasureFashion(train, test, 256, 64, workers: 2));
            if (peer is not null) torch.Add(peer.Fashion(dataFolder, 256, cores, epochs: 2).GetProperty("samples_per_s").GetDouble());
            twoNodes.Add(ClusterRun.Train(2, training, []));
            one.Add(MeasureFashion(train, test, 256, 64, workers: 1));
            four.Add(MeasureFashion(train, test, 256, 64, workers: 4));
            threeNodes.Add(ClusterRun.Train(3, training, []));
        }
        var rows = new List<Row>
        {
            new("Fashion-MNIST batch 256, the plain loop", "samples/s", plain, torch, true, $"PyTorch at {cores} threads"),
            new("  2 worker actors", "samples/s", two, plain, true, "the plain loop"),
            new("  2 worker actors", "samples/s", two, torch, true, $"PyTorch at {cores} threads"),
            new("  1 worker actor", "samples/s", one, [], true),
            new("  4 worker actors", "samples/s", four, [], true),
            new("  a server node and 2 worker nodes", "samples/s", [.. twoNodes.Select(r => r.SamplesPerSecond)], two, true, "2 worker actors"),
            new("  a server node and 3 worker nodes", "samples/s", [.. threeNodes.Select(r => r.SamplesPerSecond)], two, true, "2 worker actors"),
            new("  tensors moved a step, 2 worker nodes", "MB/step", [.. twoNodes.Select(r => r.MegabytesMoved / (2.0 * Math.Ceiling(train.Count / 256.0)))], [], false),
            new("  data-path CPU per MB, server node", "ms/MB", [.. twoNodes.Concat(threeNodes).Select(r => r.ServerCpuPerMb)], [], false),
            new("  data-path CPU per MB, worker node", "ms/MB", [.. twoNodes.Concat(threeNodes).Select(r => r.WorkerCpuPerMb)], [], false),
        };
        var hashes = twoNodes.Concat(threeNodes).Select(r => r.ParamHash).Distinct().ToList();
        if (hashes.Count != 1) throw new IOException($"the clusters ended with {hashes.Count} different param_hash values");
        return rows;
    }

    private static double MeasureRegression(long steps)
    {
        var spec = new TrainingJob(TrainingJob.Regression, [32, 32], "tanh", 200, 0, null);
        var data = spec.Data().Train;
        var settings = new TrainingSettings(spec.Objective(), new Sgd(0.05), new Batches(200, 200, false, 0), steps, 200, 0);
        // The first step compiles the plan, a one-time cost like building the model, which the peer does not time either.
        var trainer = new Trainer(settings, data);
        var warm = trainer.Run(TrainingState.Start(settings), 1);
        var clock = Stopwatch.StartNew();
        trainer.Run(warm, 1 + steps);
        return clock.Elapsed.TotalMicroseconds / steps;
    }

    private static double MeasureFashion(Dataset train, Dataset test, int batch, int microShard, int workers, int? threads = null)
    {
        var spec = new TrainingJob(TrainingJob.Fashion, [256], "relu", 0, 0, null);
        var batches = new Batches(train.Count, batch, true, 0);
        var settings = new TrainingSettings(spec.Objective(), new Sgd(0.1), batches, batches.PerEpoch, microShard, 0);
        var choice = Engines.InProcess(settings, workers);
        Engines.UseThreads(choice, threads);
        using var engine = Engines.Create(choice, settings, train, null);
        var clock = Stopwatch.StartNew();
        engine.Run(TrainingState.Start(settings), settings.Steps);
        return train.Count / clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// The Fashion step's two large products on one core and on all, and a large square one on one core: the
    /// practical single-core peak.
    /// </summary>
    private static IEnumerable<(string Shape, int Threads, double Gflops)> Gemm(int cores)
    {
        var products = new[] { (false, true, 64, 256, 784, 1), (true, false, 256, 784, 64, 1), (false, true, 64, 256, 784, cores), (true, false, 256, 784, 64, cores), (false, false, 1024, 1024, 1024, 1) };
        foreach (var (ta, tb, m, n, k, threads) in products.Distinct())
        {
            Blas.Parallelism = threads;
            var a = new float[m * k];
            var b = new float[k * n];
            var c = new float[m * n];
            Blas.Gemm<float>(ta, tb, m, n, k, a, b, c);
            int reps = (int)Math.Max(3, 2e9 / (2.0 * m * n * k));
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < reps; i++) Blas.Gemm<float>(ta, tb, m, n, k, a, b, c);
            yield return ($"{m}x{k}{(ta ? "ᵀ" : "")}·{k}x{n}{(tb ? "ᵀ" : "")}", threads, 2.0 * m * n * k * reps / clock.Elapsed.TotalSeconds / 1e9);
        }
    }

    private static void Report(List<Row> rows, bool json)
    {
        foreach (var row in rows)
        {
            if (json)
            {
                var line = new Dictionary<string, object> { ["task"] = row.Task.Trim(), ["unit"] = row.Unit, ["ours"] = Math.Round(Median(row.Ours), 2) };
                if (row.Peer.Count > 0) { line["against"] = row.PeerName; line["theirs"] = Math.Round(Median(row.Peer), 2); line["ratio"] = Math.Round(row.Ratio!.Value, 2); }
                Console.WriteLine(JsonSerializer.Serialize(line));
            }
            else
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{row.Task,-48} {Median(row.Ours),10:F1} {row.Unit,-9} {(row.Peer.Count > 0 ? $"{row.PeerName} {Median(row.Peer),10:F1}  ours/theirs speed {row.Ratio:F2}x" : "")}"));
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Load() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
}
