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
        var steps = new Option<long>("--steps") { Description = "regression steps a round (the notebook's 6000)", DefaultValueFactory = _ => 6000 };
        var data = new Option<string>("--data") { Description = "Fashion-MNIST folder", DefaultValueFactory = _ => FashionMnist.DefaultFolder };
        var peers = new Option<string?>("--peers") { Description = "folder of the PyTorch peers (default: ../shared/peers, found upwards)" };
        var python = new Option<string>("--python") { Description = "the interpreter that has PyTorch", DefaultValueFactory = _ => "/usr/bin/python3" };
        var noPeers = new Option<bool>("--no-peers") { Description = "measure our side only" };
        var distributed = new Option<bool>("--distributed") { Description = "also Fashion-MNIST at batch 256: the plain loop, 1, 2 and 4 worker actors, PyTorch at every core, and clusters of 2 and 3 worker nodes on this machine" };
        var json = new Option<bool>("--json") { Description = "one JSON line per measurement" };
        var command = new Command("bench", "Speed against the PyTorch and TorchSharp peers, alternating in the same sitting, every side a whole process: regression µs/step, Fashion-MNIST samples/s, matrix-product GFLOPS")
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
        int cores = Environment.ProcessorCount;
        bool torchSharp = peer?.TorchSharpBuilt == true;
        Say($"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {cores} cores, large products {Blas.LargeProducts}, load {Load()}" +
            (peer is null ? "" : torchSharp ? ", PyTorch and TorchSharp peers" : ", PyTorch peers (TorchSharp's not built: ../shared/peers/torchsharp/run.sh builds it)"));
        var limit = TimeSpan.FromMinutes(10);
        int[] threadCounts = cores > 1 ? [1, cores] : [1];
        // Everything that a user waits for is measured as a whole process, ours like the peers'; Fashion-MNIST
        // by its second epoch (the peers' first is slower, ours compiles in it). Each round runs every side once.
        var wholeRegression = new List<double>();
        var firstRegression = new List<double>(); // with no JIT profile yet (JitProfile): a fresh install's first run
        var steadyRegression = new List<double>();
        var torchRegression = threadCounts.ToDictionary(t => t, _ => new List<double>());
        var sharpRegression = new List<double>();
        int[] batches = [64, 256];
        string[] variants = ["default", "plain", "one"];
        var ours = batches.ToDictionary(b => b, _ => variants.ToDictionary(v => v, _ => new List<double>()));
        var torch = batches.ToDictionary(b => b, _ => threadCounts.ToDictionary(t => t, _ => new List<double>()));
        var sharp = batches.ToDictionary(b => b, _ => threadCounts.ToDictionary(t => t, _ => new List<double>()));
        MeasureRegression(200); // compile this process's code once, for the steady-state figure
        string[] regressionRun = ["train", "regression", "--json", "--steps", $"{steps}"];
        // Records this build's JIT profile, so that the whole-run rows are what every run after a user's first
        // costs (after a rebuild, the first round's run would otherwise be a first run); the next row is that one.
        Self.LastJson(regressionRun, limit);
        for (int round = 1; round <= rounds; round++)
        {
            Say($"round {round} of {rounds}");
            wholeRegression.Add(Self.LastJson(regressionRun, limit).GetProperty("us_per_step").GetDouble());
            firstRegression.Add(FirstRun(regressionRun, limit).GetProperty("us_per_step").GetDouble());
            steadyRegression.Add(MeasureRegression(steps));
            if (peer is not null)
                foreach (int t in threadCounts) torchRegression[t].Add(peer.Regression(steps, t).GetProperty("us_per_step").GetDouble());
            if (torchSharp) sharpRegression.Add(peer!.TorchSharpRegression(steps).GetProperty("us_per_step").GetDouble());
            foreach (int b in batches)
            {
                string[] fashion = ["train", "fashion-mnist", "--batch", $"{b}", "--epochs", "2", "--json", "--data", dataFolder];
                ours[b]["default"].Add(Self.LastJson(fashion, limit).GetProperty("samples_per_s").GetDouble());
                ours[b]["plain"].Add(Self.LastJson([.. fashion, "--workers", "0"], limit).GetProperty("samples_per_s").GetDouble());
                ours[b]["one"].Add(Self.LastJson([.. fashion, "--workers", "0", "--threads", "1"], limit).GetProperty("samples_per_s").GetDouble());
                if (peer is null) continue;
                foreach (int t in threadCounts)
                {
                    torch[b][t].Add(peer.Fashion(dataFolder, b, t, epochs: 2).GetProperty("samples_per_s").GetDouble());
                    if (torchSharp) sharp[b][t].Add(peer.TorchSharpFashion(dataFolder, b, t, epochs: 2).GetProperty("samples_per_s").GetDouble());
                }
            }
        }
        var rows = new List<Row>();
        const string regression = "notebook regression (1-32-32-1 tanh, 200 points)";
        rows.Add(new Row($"{regression}, whole run", "µs/step", wholeRegression, torchRegression[1], false, "PyTorch at 1 thread"));
        if (cores > 1) rows.Add(new Row("  the same", "µs/step", wholeRegression, torchRegression[cores], false, $"PyTorch at {cores} threads"));
        if (torchSharp) rows.Add(new Row("  the same", "µs/step", wholeRegression, sharpRegression, false, "TorchSharp at 1 thread"));
        rows.Add(new Row("  the same, a first run (no JIT profile yet)", "µs/step", firstRegression, torchRegression[1], false, "PyTorch at 1 thread"));
        rows.Add(new Row($"  steady state (after the plan is built)", "µs/step", steadyRegression, torchRegression[1], false, "PyTorch at 1 thread"));
        foreach (int b in batches)
        {
            var (bestTorch, torchThreads) = Best(torch[b]);
            var (bestSharp, sharpThreads) = Best(sharp[b]);
            rows.Add(new Row($"Fashion-MNIST 784-256-10, batch {b}, default engine", "samples/s", ours[b]["default"], bestTorch, true, $"PyTorch's best ({torchThreads} thr.)"));
            if (torchSharp) rows.Add(new Row("  the same", "samples/s", ours[b]["default"], bestSharp, true, $"TorchSharp's best ({sharpThreads} thr.)"));
            rows.Add(new Row("  --workers 0 (the plain loop)", "samples/s", ours[b]["plain"], bestTorch, true, $"PyTorch's best ({torchThreads} thr.)"));
            if (torchSharp) rows.Add(new Row("  the same", "samples/s", ours[b]["plain"], bestSharp, true, $"TorchSharp's best ({sharpThreads} thr.)"));
            rows.Add(new Row("  one thread each", "samples/s", ours[b]["one"], torch[b][1], true, "PyTorch at 1 thread"));
            if (torchSharp) rows.Add(new Row("  the same", "samples/s", ours[b]["one"], sharp[b][1], true, "TorchSharp at 1 thread"));
        }
        // The peers' usual figures here (../shared/peers/README.md): far below them, the machine was busy.
        foreach (var (what, figures, usual, higher) in new (string, List<double>, double, bool)[]
        {
            ("PyTorch's regression at 1 thread", torchRegression[1], 170, false),
            ("PyTorch's batch 64 at 1 thread", torch[64][1], 75_000, true), ("PyTorch's batch 256 at 1 thread", torch[256][1], 97_000, true),
        })
            if (figures.Count > 0 && (higher ? Median(figures) < 0.7 * usual : Median(figures) > usual / 0.7))
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"dbp: a noisy sitting: {what} ran at {Median(figures):F1}, its usual figure is {usual}: measure again"));
        if (distributed) rows.AddRange(Distributed(rounds, dataFolder, peer, Say));
        foreach (var (shape, threads, gflops, who) in Gemm(cores)) rows.Add(new Row($"product {shape}, {threads} thread(s), {who}", "GFLOPS", [gflops], [], true));
        Report(rows, json);
        Say($"load at the end {Load()}");
    }

    /// <summary>A run of this program as on a machine where it never ran: an empty folder for its JIT profiles, removed after.</summary>
    private static JsonElement FirstRun(string[] args, TimeSpan limit)
    {
        var folder = Directory.CreateTempSubdirectory("dbp-bench-jit-").FullName;
        try { return Self.LastJson(args, limit, new Dictionary<string, string> { ["DBP_JIT_PROFILES"] = folder }); }
        finally { Directory.Delete(folder, recursive: true); }
    }

    /// <summary>The thread count whose median is highest, and its figures (empty where the peer did not run).</summary>
    private static (List<double> Figures, int Threads) Best(Dictionary<int, List<double>> byThreads) =>
        byThreads.Where(kv => kv.Value.Count > 0).OrderByDescending(kv => Median(kv.Value)).Select(kv => (kv.Value, kv.Key)).FirstOrDefault(([], 0));

    /// <summary>
    /// Fashion-MNIST at batch 256 with the default micro-shard (two a step), the same param_hash everywhere:
    /// the plain loop, worker actors in this process, PyTorch on every core, and clusters on this machine
    /// (their second epoch: each node is a new process), alternating in every round.
    /// </summary>
    private static IEnumerable<Row> Distributed(int rounds, string dataFolder, Peers? peer, Action<string> say)
    {
        int cores = Environment.ProcessorCount;
        var limit = TimeSpan.FromMinutes(10);
        var (plain, one, two, four, torch) = (new List<double>(), new List<double>(), new List<double>(), new List<double>(), new List<double>());
        var (twoNodes, threeNodes) = (new List<ClusterRun.Result>(), new List<ClusterRun.Result>());
        string[] training = ["fashion-mnist", "--batch", "256", "--epochs", "2", "--json", "--data", dataFolder];
        double Workers(int n) => Self.LastJson(["train", .. training, "--workers", $"{n}"], limit).GetProperty("samples_per_s").GetDouble();
        var hashes = new HashSet<string>();
        for (int round = 1; round <= rounds; round++)
        {
            say($"distributed round {round} of {rounds}");
            plain.Add(Workers(0));
            two.Add(Workers(2));
            if (peer is not null) torch.Add(peer.Fashion(dataFolder, 256, cores, epochs: 2).GetProperty("samples_per_s").GetDouble());
            twoNodes.Add(ClusterRun.Train(2, training));
            one.Add(Workers(1));
            four.Add(Workers(4));
            threeNodes.Add(ClusterRun.Train(3, training));
        }
        int stepsRun = 2 * (int)Math.Ceiling(60000 / 256.0);
        var rows = new List<Row>
        {
            new("Fashion-MNIST batch 256, 2 worker actors", "samples/s", two, plain, true, "the plain loop"),
            new("  the same", "samples/s", two, torch, true, $"PyTorch at {cores} threads"),
            new("  1 worker actor", "samples/s", one, plain, true, "the plain loop"),
            new("  4 worker actors", "samples/s", four, plain, true, "the plain loop"),
            new("  a server node and 2 worker nodes", "samples/s", [.. twoNodes.Select(r => r.SamplesPerSecond)], two, true, "2 worker actors"),
            new("  a server node and 3 worker nodes", "samples/s", [.. threeNodes.Select(r => r.SamplesPerSecond)], two, true, "2 worker actors"),
            new("  tensors moved a step, 2 worker nodes", "MB/step", [.. twoNodes.Select(r => r.MegabytesMoved / stepsRun)], [], false),
            new("  tensors moved a step, 3 worker nodes", "MB/step", [.. threeNodes.Select(r => r.MegabytesMoved / stepsRun)], [], false),
            new("  data-path CPU per MB, server node", "ms/MB", [.. twoNodes.Concat(threeNodes).Select(r => r.ServerCpuPerMb)], [], false),
            new("  data-path CPU per MB, worker node", "ms/MB", [.. twoNodes.Concat(threeNodes).Select(r => r.WorkerCpuPerMb)], [], false),
        };
        if (twoNodes.Concat(threeNodes).Select(r => r.ParamHash).Distinct().Count() != 1) throw new IOException("the clusters ended with different param_hash values");
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

    /// <summary>
    /// The Fashion step's two large products on one core and on all, and a large square one on one core: the
    /// practical single-core peak, ours and, where ours are not OpenBLAS, OpenBLAS's (the peers' library).
    /// </summary>
    private static IEnumerable<(string Shape, int Threads, double Gflops, string Who)> Gemm(int cores)
    {
        var products = new[] { (false, true, 64, 256, 784, 1), (true, false, 256, 784, 64, 1), (false, true, 64, 256, 784, cores), (true, false, 256, 784, 64, cores), (false, false, 1024, 1024, 1024, 1) };
        foreach (var (ta, tb, m, n, k, threads) in products.Distinct())
            yield return Product(ta, tb, m, n, k, threads);
        if (Blas.LargeProducts != "OpenBLAS" && Blas.IsNative)
        {
            Blas.PreferOpenBlas = true;
            try { yield return Product(false, false, 1024, 1024, 1024, 1); }
            finally { Blas.PreferOpenBlas = false; }
        }
    }

    private static (string Shape, int Threads, double Gflops, string Who) Product(bool ta, bool tb, int m, int n, int k, int threads)
    {
        Blas.Parallelism = threads;
        var a = new float[m * k];
        var b = new float[k * n];
        var c = new float[m * n];
        Blas.Gemm<float>(ta, tb, m, n, k, a, b, c);
        int reps = (int)Math.Max(3, 2e9 / (2.0 * m * n * k));
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < reps; i++) Blas.Gemm<float>(ta, tb, m, n, k, a, b, c);
        return ($"{m}x{k}{(ta ? "ᵀ" : "")}·{k}x{n}{(tb ? "ᵀ" : "")}", threads, 2.0 * m * n * k * reps / clock.Elapsed.TotalSeconds / 1e9, Blas.LargeProducts);
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
                    $"{row.Task,-58} {Median(row.Ours),10:F1} {row.Unit,-9} {(row.Peer.Count > 0 ? $"{row.PeerName,-26} {Median(row.Peer),10:F1}  ours/theirs speed {row.Ratio:F2}x" : "")}"));
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Load() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
}
