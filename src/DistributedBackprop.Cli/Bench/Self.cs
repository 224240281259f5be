using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace DistributedBackprop.Cli.Bench;

/// <summary>
/// This very program as a child process — a whole run, start-up and compilation included, measured the way a
/// user meets it and the way the peers are measured — with its output captured.
/// </summary>
public static class Self
{
    public static (Process Process, StringBuilder Err, StringBuilder Out) Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        // Under `dotnet dbp.dll`, the host and the dll; as an apphost, itself.
        var self = Environment.ProcessPath!;
        var info = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") info.ArgumentList.Add(typeof(Self).Assembly.Location);
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;
        var p = Process.Start(info)!;
        var (err, output) = (new StringBuilder(), new StringBuilder());
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (err) err.AppendLine(e.Data); };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        return (p, err, output);
    }

    /// <summary>Runs to the end (at most <paramref name="limit"/>) and gives its last JSON line.</summary>
    public static JsonElement LastJson(IEnumerable<string> args, TimeSpan limit, IReadOnlyDictionary<string, string>? environment = null) =>
        JsonDocument.Parse(LastLine(args, limit, environment)).RootElement;

    /// <summary>Runs to the end (at most <paramref name="limit"/>) and gives the last line it printed; a failure is an IOException.</summary>
    public static string LastLine(IEnumerable<string> args, TimeSpan limit, IReadOnlyDictionary<string, string>? environment = null)
    {
        var (p, err, output) = Start(args, environment);
        using (p)
        {
            if (!p.WaitForExit(limit)) { p.Kill(entireProcessTree: true); throw new TimeoutException($"dbp {string.Join(' ', args)} took over {limit}"); }
            p.WaitForExit();
            if (p.ExitCode != 0) throw new IOException($"dbp {string.Join(' ', args)} failed: {err.ToString().Trim().Split('\n')[^1]}");
            return output.ToString().TrimEnd().Split('\n')[^1];
        }
    }
}
