using System.Diagnostics;
using System.Text.Json;

namespace DistributedBackprop.Cli.Bench;

/// <summary>
/// The peers in ../shared/peers: PyTorch's scripts run with Debian's interpreter, and the TorchSharp peer where
/// it has been built (<c>torchsharp/run.sh</c> builds it once; the benchmark never does).
/// </summary>
public sealed class Peers(string folder, string python)
{
    /// <summary>The peers folder: --peers, else DBP_PEERS, else ../shared/peers or shared/peers above the working folder.</summary>
    public static string? Find(string? given)
    {
        if (given is not null) return Directory.Exists(given) ? Path.GetFullPath(given) : throw new UsageException($"--peers: no folder {given}");
        if (Environment.GetEnvironmentVariable("DBP_PEERS") is { } env && Directory.Exists(env)) return env;
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
            foreach (var candidate in new[] { Path.Combine(dir.FullName, "shared", "peers"), Path.Combine(dir.FullName, "..", "shared", "peers") })
                if (File.Exists(Path.Combine(candidate, "seed_train.py"))) return Path.GetFullPath(candidate);
        return null;
    }

    /// <summary>Whether PyTorch imports: the peers need Debian's python3-torch.</summary>
    public bool Available()
    {
        try { return Run(python, ["-c", "import torch"], TimeSpan.FromMinutes(1)).ExitCode == 0; }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    public JsonElement Regression(long steps, int threads = 1) =>
        LastJson(Run(python, [Path.Combine(folder, "seed_train.py"), "--threads", threads.ToString(), "--steps", steps.ToString()], TimeSpan.FromMinutes(10)));

    /// <summary>The last epoch's line of a Fashion-MNIST run.</summary>
    public JsonElement Fashion(string data, int batch, int threads = 1, int epochs = 1) =>
        LastJson(Run(python, [Path.Combine(folder, "fmnist.py"), .. FashionFlags(data, batch, threads, epochs)], TimeSpan.FromMinutes(10)));

    private string TorchSharp => Path.Combine(folder, "torchsharp", "run.sh");

    /// <summary>Whether the TorchSharp peer has been built (by its own run.sh).</summary>
    public bool TorchSharpBuilt => File.Exists(Path.Combine(folder, "torchsharp", "bin", "Release", "net10.0", "linux-x64", "torchsharp-peer"));

    public JsonElement TorchSharpRegression(long steps, int threads = 1) =>
        LastJson(Run(TorchSharp, ["seed-regression", "--threads", threads.ToString(), "--steps", steps.ToString()], TimeSpan.FromMinutes(10)));

    public JsonElement TorchSharpFashion(string data, int batch, int threads, int epochs) =>
        LastJson(Run(TorchSharp, ["fashion-mnist", .. FashionFlags(data, batch, threads, epochs)], TimeSpan.FromMinutes(10)));

    private static string[] FashionFlags(string data, int batch, int threads, int epochs) =>
        ["--threads", threads.ToString(), "--epochs", epochs.ToString(), "--batch", batch.ToString(), "--data", data.TrimEnd('/') + "/"];

    private static JsonElement LastJson((int ExitCode, string Out, string Err) r) => r.ExitCode == 0
        ? JsonDocument.Parse(r.Out.TrimEnd().Split('\n')[^1]).RootElement
        : throw new IOException($"a PyTorch peer failed: {r.Err.Trim().Split('\n')[^1]}");

    private static (int ExitCode, string Out, string Err) Run(string program, string[] args, TimeSpan limit)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(limit)) { p.Kill(entireProcessTree: true); throw new TimeoutException($"a PyTorch peer took over {limit}"); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
