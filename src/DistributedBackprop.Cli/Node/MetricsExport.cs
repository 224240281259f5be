using System.Net;
using DistributedBackprop.Training;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace DistributedBackprop.Cli;

/// <summary>
/// The <see cref="TrainingMetrics"/> meter out of the process through OpenTelemetry: a Prometheus endpoint
/// (<c>http://HOST:PORT/metrics</c>) when a port is given, and OTLP when an endpoint is configured the
/// standard way (OTEL_EXPORTER_OTLP_ENDPOINT, or ..._METRICS_ENDPOINT; OTEL_EXPORTER_OTLP_PROTOCOL and the rest
/// are read by the exporter). dotnet-counters needs none of this: it reads the meter from the running process.
/// OpenTelemetry's exporters rather than a text writer of our own: histograms, units and the names
/// Prometheus expects come right, and OTLP shares the pipeline. Loaded only when asked for.
/// </summary>
public static class MetricsExport
{
    public static bool OtlpConfigured() =>
        !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"))
        || !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"));

    /// <summary>The address the endpoint binds, checked: an IP address or localhost (default 127.0.0.1).</summary>
    public static string Host(string? text, string names)
    {
        var host = string.IsNullOrWhiteSpace(text) ? "127.0.0.1" : text.Trim();
        return host == "localhost" || IPAddress.TryParse(host, out _) ? host : throw new UsageException($"{names}: '{host}' is not an IP address (or localhost)");
    }

    /// <summary>The exporters asked for, running; null when none is.</summary>
    public static IDisposable? Start(int? port, string host)
    {
        bool otlp = OtlpConfigured();
        if (port is null && !otlp) return null;
        var builder = Sdk.CreateMeterProviderBuilder()
            .ConfigureResource(r => r.AddService("dbp", serviceVersion: typeof(MetricsExport).Assembly.GetName().Version?.ToString()))
            .AddMeter(TrainingMetrics.MeterName);
        if (port is int p) builder.AddPrometheusHttpListener(o =>
        {
            o.Host = Prefix(host);
            o.Port = p;
        });
        if (otlp) builder.AddOtlpExporter();
        try { return builder.Build(); }
        catch (Exception e) when (e is HttpListenerException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            throw new IOException($"cannot serve metrics on {host}:{port}: {e.Message}");
        }
    }

    /// <summary>The host part of an HttpListener prefix: every address for 0.0.0.0 or ::, brackets for IPv6.</summary>
    public static string Prefix(string host) => IPAddress.TryParse(host, out var ip)
        ? ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any) ? "*" : ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip.ToString()
        : host;
}
