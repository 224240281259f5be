using System.Collections;
using Akka.Configuration;
using Akka.Hosting.Configuration;
using DistributedBackprop.Actors;
using Microsoft.Extensions.Configuration;

namespace DistributedBackprop.Cli;

/// <summary>One of dbp node's own settings, by its key in appsettings.json, its environment variable and its flag.</summary>
public sealed record NodeSetting(string Key, string Variable, string Flag)
{
    public string Path => $"{NodeConfiguration.Section}:{Key}";
    /// <summary>Where a value can come from, for an error message.</summary>
    public string Names => $"{Flag} (or {Variable})";
}

/// <summary>
/// Where a node's settings come from, each layer over the one before: the HOCON in <c>hocon/</c> (built in),
/// <c>appsettings.json</c> beside the program, then <c>appsettings.json</c> in the working directory, then the
/// <c>DBP_</c> environment variables, then the flags. dbp's own settings live under <c>Dbp</c> (<see cref="Settings"/>);
/// any Akka setting under <c>akka</c>, by its HOCON path: <c>{"akka": {"remote": {"dot-netty": {"tcp":
/// {"maximum-frame-size": "32MiB"}}}}}</c>, <c>DBP_AKKA__REMOTE__DOT_NETTY__TCP__MAXIMUM_FRAME_SIZE=32MiB</c> (an
/// underscore is read as a hyphen, as Akka.Hosting reads them) or <c>--akka akka.remote.dot-netty.tcp.maximum-frame-size=32MiB</c>.
/// Per-category log levels live under <c>Logging:LogLevel</c> (<c>DBP_LOGGING__LOGLEVEL__AKKA=Debug</c>).
/// A pure function of its inputs: the files it is shown, the variables it is given and the flags.
/// </summary>
public static class NodeConfiguration
{
    public const string Section = "Dbp", AkkaSection = "akka", FileName = "appsettings.json";

    public static readonly NodeSetting Role = new("Role", "DBP_ROLE", "--role");
    public static readonly NodeSetting Hostname = new("Hostname", "DBP_HOSTNAME", "--hostname");
    public static readonly NodeSetting Port = new("Port", "DBP_PORT", "--port");
    public static readonly NodeSetting SeedNodes = new("SeedNodes", "DBP_SEED_NODES", "--seed-nodes");
    public static readonly NodeSetting TlsCert = new("TlsCert", "DBP_TLS_CERT", "--tls-cert");
    public static readonly NodeSetting TlsPasswordFile = new("TlsPasswordFile", "DBP_TLS_PASSWORD_FILE", "--tls-password-file");
    public static readonly NodeSetting MinWorkers = new("MinWorkers", "DBP_MIN_WORKERS", "--min-workers");
    public static readonly NodeSetting JoinTimeout = new("JoinTimeout", "DBP_JOIN_TIMEOUT", "--join-timeout");
    public static readonly NodeSetting LogLevel = new("LogLevel", "DBP_LOG_LEVEL", "--log-level");
    public static readonly NodeSetting LogFormat = new("LogFormat", "DBP_LOG_FORMAT", "--log-format");
    public static readonly NodeSetting MetricsPort = new("MetricsPort", "DBP_METRICS_PORT", "--metrics-port");
    public static readonly NodeSetting MetricsHost = new("MetricsHost", "DBP_METRICS_HOST", "--metrics-host");
    public static readonly NodeSetting SharedMemory = new("SharedMemory", "DBP_SHARED_MEMORY", "--shared-memory");
    // How a node finds its cluster; BootstrapSettings.Parse checks them.
    public static readonly NodeSetting Discovery = new("Discovery", "DBP_DISCOVERY", "--discovery");
    public static readonly NodeSetting ManagementPort = new("ManagementPort", "DBP_MANAGEMENT_PORT", "--management-port");
    public static readonly NodeSetting DiscoverySelector = new("DiscoverySelector", "DBP_DISCOVERY_SELECTOR", "--discovery-selector");
    public static readonly NodeSetting ContactPoints = new("ContactPoints", "DBP_CONTACT_POINTS", "--contact-points");

    public static readonly IReadOnlyList<NodeSetting> Settings =
        [Role, Hostname, Port, SeedNodes, TlsCert, TlsPasswordFile, MinWorkers, JoinTimeout, LogLevel, LogFormat, MetricsPort, MetricsHost, SharedMemory,
            Discovery, ManagementPort, DiscoverySelector, ContactPoints];

    /// <summary>The layers, lowest first, as one configuration.</summary>
    /// <param name="files">appsettings.json files, lowest first (those that do not exist are skipped).</param>
    /// <param name="environment">the process's variables: only DBP_ ones that name a setting are read.</param>
    /// <param name="flags">the flags given, by setting key ("Dbp:Port") or Akka path ("akka:remote:...").</param>
    public static IConfiguration Build(IEnumerable<string> files, IDictionary environment, IReadOnlyDictionary<string, string?> flags)
    {
        var builder = new ConfigurationBuilder();
        foreach (var file in files.Select(System.IO.Path.GetFullPath).Distinct())
            if (File.Exists(file)) builder.AddJsonFile(file, optional: true, reloadOnChange: false);
        return builder.AddInMemoryCollection(FromEnvironment(environment)).AddInMemoryCollection(flags).Build();
    }

    /// <summary>appsettings.json beside the program (the defaults an image ships), then in the working directory (the operator's).</summary>
    public static string[] Files() => [System.IO.Path.Combine(AppContext.BaseDirectory, FileName), System.IO.Path.Combine(Environment.CurrentDirectory, FileName)];

    /// <summary>DBP_ROLE, DBP_SEED_NODES, ... by their settings' keys; DBP_AKKA__* and DBP_LOGGING__* as sections (__ nests).</summary>
    public static Dictionary<string, string?> FromEnvironment(IDictionary environment)
    {
        var keys = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (DictionaryEntry entry in environment)
        {
            if (entry.Key is not string name || !name.StartsWith("DBP_", StringComparison.Ordinal)) continue;
            var value = entry.Value as string;
            if (Settings.FirstOrDefault(s => s.Variable == name) is { } setting) keys[setting.Path] = value;
            else if (name.StartsWith("DBP_AKKA__", StringComparison.Ordinal))
                keys[name["DBP_".Length..].Replace("__", ":").Replace('_', '-').ToLowerInvariant()] = value; // the key a file would use: dot-netty, not DOT_NETTY
            else if (name.StartsWith("DBP_LOGGING__", StringComparison.Ordinal))
                keys[name["DBP_".Length..].Replace("__", ":")] = value;
        }
        return keys;
    }

    /// <summary>An <c>--akka path=value</c> flag as a configuration key and value; a path must start with <c>akka.</c>.</summary>
    public static KeyValuePair<string, string?> AkkaFlag(string flag)
    {
        int equals = flag.IndexOf('=');
        var path = equals < 0 ? "" : flag[..equals].Trim();
        if (equals < 0 || !path.StartsWith("akka.", StringComparison.Ordinal) || path.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_')))
            throw new UsageException($"--akka: '{flag}' is not a setting like akka.remote.dot-netty.tcp.maximum-frame-size=32MiB");
        return new(path.Replace('.', ':'), flag[(equals + 1)..].Trim());
    }

    /// <summary>
    /// The node's Akka configuration before dbp's own settings go on top: the <c>akka</c> section of every layer
    /// over hocon/cluster.hocon over hocon/base.hocon.
    /// </summary>
    public static Config Akka(IConfiguration configuration)
    {
        var section = configuration.GetSection(AkkaSection);
        var embedded = ActorSystems.Hocon("cluster").WithFallback(ActorSystems.Hocon("base"));
        return section.GetChildren().Any() ? section.ToHocon().WithFallback(embedded) : embedded;
    }
}
