using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace DistributedBackprop.Cli.Tests;

/// <summary>
/// dbp node and dbp train as processes: a node reads a setting from each layer (appsettings.json in its
/// working directory, a DBP_ variable, a flag), its log lines carry time stamps, and a Prometheus scrape
/// during a training run sees the step counter move. Every wait is bounded; only processes started here are killed.
/// </summary>
public sealed class NodeHostingTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);
    private readonly string _folder = Directory.CreateTempSubdirectory("dbp-node-").FullName;
    private readonly List<Process> _started = [];

    public void Dispose()
    {
        foreach (var p in _started)
        {
            try { if (!p.HasExited) p.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
            p.Dispose();
        }
        Directory.Delete(_folder, recursive: true);
    }

    private static int FreePort() => DistributedBackprop.Actors.FreePort.OnLoopback();

    private (Process Process, StringBuilder Out, StringBuilder Err) Start(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = _folder };
        foreach (var (key, value) in environment) info.Environment[key] = value;
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "dbp.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        _started.Add(process);
        StringBuilder output = new(), errors = new();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (errors) errors.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, output, errors);
    }

    private static string Text(StringBuilder b) { lock (b) return b.ToString(); }

    private static void WaitFor(Func<bool> done, Process process, StringBuilder err, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!done() && !process.HasExited && clock.Elapsed < Limit) Thread.Sleep(50);
        Assert.True(done(), $"never saw {what}; stderr: {Text(err)}");
    }

    [Fact]
    public void A_node_takes_a_setting_from_each_layer_and_stamps_its_log()
    {
        int jsonPort = FreePort(), envPort = FreePort(), flagPort = FreePort();
        // The working directory's file: the role, a port (beaten by the variable, itself beaten by the flag) and an Akka setting.
        File.WriteAllText(Path.Combine(_folder, "appsettings.json"), $$"""
            { "Dbp": { "Role": "parameter-server", "Port": "{{jsonPort}}" },
              "akka": { "remote": { "dot-netty": { "tcp": { "maximum-frame-size": "40000b" } } } } }
            """);
        var environment = new Dictionary<string, string> { ["DBP_PORT"] = envPort.ToString(), ["DBP_MIN_WORKERS"] = "2" };

        // A model of about 49 kB does not fit the file's 40000-byte frames: refused before anything starts.
        var (refused, _, refusal) = Start(environment, "node", "--insecure", "--port", flagPort.ToString(), "--", "train", "regression", "--hidden", "4096", "--steps", "5");
        Assert.True(refused.WaitForExit(Limit));
        refused.WaitForExit(); // with no timeout it also waits for the last of standard error to be read
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("(40.0 kB, maximum-frame-size", Text(refusal));

        // The same model with the frame size raised by a variable over the file: the node starts, on the flag's port.
        environment["DBP_AKKA__REMOTE__DOT_NETTY__TCP__MAXIMUM_FRAME_SIZE"] = "1MiB";
        var (node, _, err) = Start(environment, "node", "--insecure", "--port", flagPort.ToString(), "--", "train", "regression", "--hidden", "4096", "--steps", "5");
        WaitFor(() => Text(err).Contains("waiting for"), node, err, "the server waiting for its workers");
        var line = Text(err).Split('\n').Single(l => l.Contains("waiting for"));
        Assert.Contains($"parameter server at akka.tcp://dbp@127.0.0.1:{flagPort} (without TLS), waiting for 2 worker node(s)", line);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info ", line);
    }

    private static long Steps(HttpClient http, int port)
    {
        string text;
        try { text = http.GetStringAsync($"http://127.0.0.1:{port}/metrics").GetAwaiter().GetResult(); }
        catch (HttpRequestException) { return -1; } // not listening yet
        var m = Regex.Match(text, @"^dbp_steps_total\{[^}]*\} (\d+)", RegexOptions.Multiline);
        return m.Success ? long.Parse(m.Groups[1].Value) : 0;
    }

    [Fact]
    public void A_scrape_during_training_sees_the_step_counter_move()
    {
        int port = FreePort();
        var (train, output, err) = Start(new Dictionary<string, string>(), "train", "regression", "--steps", "100000000", "--workers", "0", "--metrics-port", port.ToString(), "--json");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        long first = 0;
        WaitFor(() => (first = Steps(http, port)) > 0, train, err, "a scrape with steps");
        long second = first;
        WaitFor(() => (second = Steps(http, port)) > first, train, err, "the step counter grow between scrapes");
        Assert.True(second > first);
        Assert.Equal("", Text(output)); // standard output holds dbp's results only, and there are none yet
    }
}
