using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using C = DistributedBackprop.Cli.NodeConfiguration;

namespace DistributedBackprop.Cli;

/// <summary>dbp node's own settings, read from the layers (<see cref="NodeConfiguration"/>) and checked: a bad value is one line, exit 2.</summary>
public sealed record NodeSettings(
    string? Role, string Hostname, int? Port, string[] SeedNodes, string? TlsCert, string? TlsPasswordFile,
    int MinWorkers, TimeSpan JoinTimeout, LogLevel LogLevel, bool LogLevelGiven, LogFormat LogFormat, int? MetricsPort, string MetricsHost,
    string? SharedMemory)
{
    /// <summary>on (the default): the machine's tmpfs, where it has one; off: none, tensors by socket only.</summary>
    public static string? ParseSharedMemory(string? text) => (text ?? "on").ToLowerInvariant() switch
    {
        "on" => DistributedBackprop.Actors.DataPath.SharedSegment.DefaultDirectory,
        "off" => null,
        _ => throw new UsageException($"{C.SharedMemory.Names}: '{text}' is not on or off"),
    };

    public static NodeSettings From(IConfiguration c)
    {
        string? Text(NodeSetting s) => c[s.Path] is { Length: > 0 } v ? v.Trim() : null;
        int? Number(NodeSetting s, int min, int max, string what)
        {
            if (Text(s) is not { } text) return null;
            return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max
                ? n : throw new UsageException($"{s.Names}: '{text}' is not {what}");
        }
        var timeout = Text(C.JoinTimeout) is { } t
            ? double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 && seconds <= 86400
                ? TimeSpan.FromSeconds(seconds) : throw new UsageException($"--join-timeout must be from 0 to 86400 seconds, not '{t}'")
            : TimeSpan.FromSeconds(60);
        var level = Text(C.LogLevel);
        var metricsHost = MetricsExport.Host(Text(C.MetricsHost), C.MetricsHost.Names);
        return new(
            Text(C.Role), Text(C.Hostname) ?? "127.0.0.1", Number(C.Port, 0, 65535, "a port"),
            (Text(C.SeedNodes) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            Text(C.TlsCert), Text(C.TlsPasswordFile),
            Number(C.MinWorkers, int.MinValue, int.MaxValue, "a number") ?? 1, timeout,
            level is null ? Microsoft.Extensions.Logging.LogLevel.Information : ParseLevel(level), level is not null,
            ParseFormat(Text(C.LogFormat) ?? "text"), Number(C.MetricsPort, 1, 65535, "a port from 1 to 65535"), metricsHost,
            ParseSharedMemory(Text(C.SharedMemory)));
    }

    public static LogLevel ParseLevel(string text) => text.ToLowerInvariant() switch
    {
        "trace" => Microsoft.Extensions.Logging.LogLevel.Trace,
        "debug" => Microsoft.Extensions.Logging.LogLevel.Debug,
        "info" or "information" => Microsoft.Extensions.Logging.LogLevel.Information,
        "warn" or "warning" => Microsoft.Extensions.Logging.LogLevel.Warning,
        "error" => Microsoft.Extensions.Logging.LogLevel.Error,
        "critical" => Microsoft.Extensions.Logging.LogLevel.Critical,
        "none" => Microsoft.Extensions.Logging.LogLevel.None,
        _ => throw new UsageException($"--log-level: unknown '{text}' (trace, debug, info, warning, error, critical or none)"),
    };

    public static LogFormat ParseFormat(string text) => text.ToLowerInvariant() switch
    {
        "text" => global::DistributedBackprop.Cli.LogFormat.Text,
        "json" => global::DistributedBackprop.Cli.LogFormat.Json,
        _ => throw new UsageException($"--log-format: unknown '{text}' (text or json)"),
    };
}
