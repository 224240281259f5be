using System.CommandLine;
using System.Globalization;
using System.Net;
using Akka.Actor;
using Akka.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using DistributedBackprop.Actors;

namespace DistributedBackprop.Cli;

/// <summary>
/// <c>dbp node</c>: one node of a cluster. The parameter-server node runs the coordinator and the server and
/// prints what <c>dbp train</c> prints; worker nodes join it, compute shards, and exit when the run ends (0
/// only if it succeeded). Every connection between nodes is mutual TLS with the cluster's certificate
/// (<see cref="ClusterTls"/>); <c>--insecure</c> turns that off, on loopback only. A worker node that the
/// cluster downs (paused, or cut off, for too long) starts again as a new node and rejoins, a few times.
/// Settings come in layers (<see cref="NodeConfiguration"/>): hocon/, appsettings.json, DBP_ variables, flags;
/// the node runs as an Akka.Hosting service (<see cref="NodeHost"/>), logs through
/// Microsoft.Extensions.Logging (<see cref="NodeLogging"/>) and exports its metrics (<see cref="MetricsExport"/>).
/// On Kubernetes, <c>--discovery kubernetes</c> finds the cluster by Cluster Bootstrap instead of seed nodes
/// (<see cref="KubernetesBootstrap"/>). Several parameter-server nodes may run the same job: the oldest is
/// active, the others stand by and take over (<see cref="Actors.Failover.ServerRole"/>).
/// </summary>
public static partial class NodeCommand
{
    /// <summary>New incarnations a worker node starts after being downed, before it gives up.</summary>
    public const int MaxRejoins = 5;
    /// <summary>A rejoin waits at least this long: a paused server (up to 30 s) must have time to come back.</summary>
    private static readonly TimeSpan MinRejoinWait = TimeSpan.FromSeconds(60);
    private const int RefusalsShown = 5;

    public static Command Create()
    {
        var role = new Option<string?>("--role") { Description = "parameter-server or worker (or DBP_ROLE)" };
        role.AcceptOnlyFromAmong(ActorSystems.ParameterServerRole, ActorSystems.WorkerRole);
        var hostname = new Option<string?>("--hostname") { Description = "address to bind and be reached at (or DBP_HOSTNAME; default 127.0.0.1)" };
        var port = new Option<int?>("--port") { Description = "port to bind (or DBP_PORT; default 4053 for the parameter server, 0 = any free port for a worker)" };
        var seeds = new Option<string?>("--seed-nodes") { Description = "comma-separated seed addresses, e.g. akka.ssl.tcp://dbp@127.0.0.1:4053 (or DBP_SEED_NODES; akka.tcp:// is read as the same node)" };
        var minWorkers = new Option<int?>("--min-workers") { Description = "worker nodes to wait for before training (or DBP_MIN_WORKERS; default 1)" };
        var joinTimeout = new Option<double?>("--join-timeout") { Description = "seconds to wait to join the cluster, or for --min-workers (or DBP_JOIN_TIMEOUT; default 60)" };
        var cert = new Option<string?>("--tls-cert") { Description = "the cluster's certificate and key, a .pfx made by 'dbp cert' (or DBP_TLS_CERT): every node holds the same one and accepts only peers that present it" };
        var passwordFile = new Option<string?>("--tls-password-file") { Description = "file holding the .pfx's password (or DBP_TLS_PASSWORD_FILE)" };
        var insecure = new Option<bool>("--insecure") { Description = "no TLS: any process that reaches the port can join; refused on any address but loopback" };
        var logLevel = new Option<string?>("--log-level") { Description = "trace, debug, info (the default: Akka's own from warnings up), warning, error, critical or none (or DBP_LOG_LEVEL)" };
        logLevel.AcceptOnlyFromAmong("trace", "debug", "info", "information", "warn", "warning", "error", "critical", "none");
        var logFormat = new Option<string?>("--log-format") { Description = "text (the default) or json: one JSON object a line on standard error, for log collectors (or DBP_LOG_FORMAT)" };
        logFormat.AcceptOnlyFromAmong("text", "json");
        var metricsPort = new Option<int?>("--metrics-port") { Description = "serve Prometheus metrics at http://HOST:PORT/metrics (or DBP_METRICS_PORT); OTLP is on when OTEL_EXPORTER_OTLP_ENDPOINT is set" };
        var metricsHost = new Option<string?>("--metrics-host") { Description = "address the metrics endpoint binds (or DBP_METRICS_HOST; default 127.0.0.1, 0.0.0.0 for every address)" };
        var shared = new Option<string?>("--shared-memory") { Description = "on (the default) or off: tensors between nodes on one machine through shared memory in /dev/shm, not the socket (or DBP_SHARED_MEMORY); both ends must say on" };
        var akka = new Option<string[]>("--akka") { Description = "an Akka setting over hocon/, appsettings.json and DBP_AKKA__... (repeatable), e.g. akka.cluster.failure-detector.acceptable-heartbeat-pause=12s" };
        var discovery = new Option<string?>("--discovery") { Description = "how the node finds its cluster: seed-nodes (the default) or kubernetes, Cluster Bootstrap through the Kubernetes API (or DBP_DISCOVERY)" };
        discovery.AcceptOnlyFromAmong("seed-nodes", "kubernetes");
        var managementPort = new Option<string?>("--management-port") { Description = $"HTTP port of /alive and /ready (and, with --discovery kubernetes, of bootstrap's contact point; default {BootstrapSettings.DefaultManagementPort} there, none otherwise) (or DBP_MANAGEMENT_PORT)" };
        var selector = new Option<string?>("--discovery-selector") { Description = $"with --discovery kubernetes: the label selector of the parameter-server pods (or DBP_DISCOVERY_SELECTOR; default {BootstrapSettings.DefaultPodLabelSelector})" };
        var contactPoints = new Option<string?>("--contact-points") { Description = $"with --discovery kubernetes: parameter-server pods that must answer before a cluster forms (or DBP_CONTACT_POINTS; default {BootstrapSettings.DefaultRequiredContactPoints})" };
        var chaos = new Option<string?>("--chaos") { Description = "a worker node that computes wrong, for testing --audit: 'corrupt worker 0 from step N xF' or '... flip bits' (worker 0 is this node's)" };
        var training = new Argument<string[]>("TRAINING") { Description = "for the parameter server, after --: train regression|fashion-mnist|csv [training flags]", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("node", "One node of a training cluster (Akka.Cluster over mutual TLS, hosted with Akka.Hosting): the parameter server, or a worker")
        {
            role, hostname, port, seeds, minWorkers, joinTimeout, cert, passwordFile, insecure, discovery, managementPort, selector, contactPoints, chaos, logLevel, logFormat, metricsPort, metricsHost, shared, akka, training,
        };
        command.SetAction(r =>
        {
            var flags = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            void Flag<T>(NodeSetting setting, Option<T> option)
            {
                if (r.GetResult(option) is { Implicit: false } && r.GetValue(option) is { } value)
                    flags[setting.Path] = Convert.ToString(value, CultureInfo.InvariantCulture);
            }
            Flag(NodeConfiguration.Role, role); Flag(NodeConfiguration.Hostname, hostname); Flag(NodeConfiguration.Port, port);
            Flag(NodeConfiguration.SeedNodes, seeds); Flag(NodeConfiguration.MinWorkers, minWorkers); Flag(NodeConfiguration.JoinTimeout, joinTimeout);
            Flag(NodeConfiguration.TlsCert, cert); Flag(NodeConfiguration.TlsPasswordFile, passwordFile);
            Flag(NodeConfiguration.LogLevel, logLevel); Flag(NodeConfiguration.LogFormat, logFormat);
            Flag(NodeConfiguration.MetricsPort, metricsPort); Flag(NodeConfiguration.MetricsHost, metricsHost); Flag(NodeConfiguration.SharedMemory, shared);
            Flag(NodeConfiguration.Discovery, discovery); Flag(NodeConfiguration.ManagementPort, managementPort);
            Flag(NodeConfiguration.DiscoverySelector, selector); Flag(NodeConfiguration.ContactPoints, contactPoints);
            foreach (var (key, value) in (r.GetValue(akka) ?? []).Select(NodeConfiguration.AkkaFlag)) flags[key] = value;
            var configuration = NodeConfiguration.Build(NodeConfiguration.Files(), Environment.GetEnvironmentVariables(), flags);
            return Run(NodeSettings.From(configuration), configuration, r.GetValue(insecure), r.GetValue(training) ?? [], r.GetValue(chaos));
        });
        return command;
    }

    /// <summary>A worker node's --chaos: only its own arithmetic (worker 0) can go wrong; the other faults act at the server's coordinator, which has none.</summary>
    private static Func<long, Corruption?>? Corrupt(string? text, string role)
    {
        if (text is null) return null;
        if (role != ActorSystems.WorkerRole) throw new UsageException("--chaos is a worker node's: give it to a worker (--role worker)");
        ChaosPlan plan;
        try { plan = ChaosPlan.Parse(text); }
        catch (ChaosPlanException e) { throw new UsageException(e.Message); }
        if (!plan.CorruptsWorkerZeroOnly) throw new UsageException($"--chaos on a worker node: '{text}' — a worker node takes only 'corrupt worker 0 from step N xF|flip bits' (worker 0 is its own)");
        return step => plan.Corrupts(0, step);
    }

    private static int Run(NodeSettings s, IConfiguration configuration, bool plain, string[] training, string? chaos)
    {
        var addresses = s.SeedNodes.Select(seed => Seed(seed, plain)).ToArray();
        if (s.Role is not (ActorSystems.ParameterServerRole or ActorSystems.WorkerRole))
            throw new UsageException(s.Role is null ? "--role is required: parameter-server or worker" : $"--role: unknown '{s.Role}' (parameter-server or worker)");
        var corrupt = Corrupt(chaos, s.Role);
        int port = s.Port ?? (s.Role == ActorSystems.ParameterServerRole ? 4053 : 0);
        // How the node finds its cluster, from the layers like every setting, checked as a whole by the bootstrap's parser.
        string? Given(NodeSetting setting) => configuration[setting.Path] is { Length: > 0 } v ? v.Trim() : null;
        var managementPort = Given(NodeConfiguration.ManagementPort);
        if (BootstrapSettings.Parse(Given(NodeConfiguration.Discovery), s.Role, s.Hostname, port, addresses.Length > 0, managementPort,
                Given(NodeConfiguration.DiscoverySelector), Given(NodeConfiguration.ContactPoints), out var boot) is { } badBootstrap)
            throw new UsageException(badBootstrap);
        // Without Kubernetes, a management port serves only the probes (a container's health check).
        int? probes = boot is null && managementPort is { } probePort
            ? BootstrapSettings.ParsePort(probePort, port, out var p) is { } badPort ? throw new UsageException(badPort) : p
            : null;
        var tls = Tls(plain, s.TlsCert, s.TlsPasswordFile, s.Hostname, addresses);
        var akka = NodeConfiguration.Akka(configuration);
        using var logs = NodeLogging.Create(s, configuration);
        var node = new Node(logs, akka, s, configuration, boot, probes);
        OperatorLog.WriteTo((warning, message) => { if (warning) node.Log.LogWarning("{Message}", message); else node.Log.LogInformation("{Message}", message); });
        using var metrics = MetricsExport.Start(s.MetricsPort, s.MetricsHost);
        if (s.MetricsPort is int mp) node.Log.LogInformation("metrics at http://{Host}:{Port}/metrics", s.MetricsHost, mp);
        return s.Role == ActorSystems.ParameterServerRole
            ? ParameterServer(node, s.Hostname, port, addresses, s.MinWorkers, s.JoinTimeout, training, tls)
            : Worker(node, s.Hostname, port, addresses, s.JoinTimeout, tls, corrupt);
    }

    /// <summary>What every incarnation of this process's node shares: its log, its Akka configuration and settings, how it finds its cluster.</summary>
    private sealed record Node(ILoggerFactory Logs, Config Akka, NodeSettings Settings, IConfiguration Configuration, BootstrapSettings? Boot, int? Probes)
    {
        public ILogger Log { get; } = Logs.CreateLogger(NodeLogging.Category);
    }

    /// <summary>A seed address, checked, in this node's own scheme (akka.ssl.tcp with TLS, akka.tcp without).</summary>
    private static Address Seed(string seed, bool insecure)
    {
        Address address;
        try { address = Address.Parse(seed); }
        catch (Exception e) when (e is UriFormatException or ArgumentException) { throw new UsageException($"--seed-nodes: '{seed}' is not an address like akka.ssl.tcp://dbp@127.0.0.1:4053"); }
        if (address.Protocol is not ("akka.tcp" or "akka.ssl.tcp"))
            throw new UsageException($"--seed-nodes: '{seed}' has the scheme '{address.Protocol}'; dbp's nodes are akka.ssl.tcp:// (or akka.tcp:// with --insecure)");
        if (address.System != ActorSystems.SystemName)
            throw new UsageException($"--seed-nodes: '{seed}' names cluster '{address.System}'; dbp's cluster is '{ActorSystems.SystemName}'");
        if (address.Host is null || address.Port is null) throw new UsageException($"--seed-nodes: '{seed}' needs a host and a port");
        return new Address(ActorSystems.Protocol(!insecure), address.System, address.Host, address.Port);
    }

    private static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));

    /// <summary>The cluster's certificate; or, with --insecure, none, on loopback only (a warning is printed as the node starts).</summary>
    private static ClusterTls? Tls(bool insecure, string? certificate, string? passwordFile, string host, Address[] seeds)
    {
        if (insecure)
        {
            if (certificate is not null) throw new UsageException("--insecure and --tls-cert (or DBP_TLS_CERT) contradict each other: choose one");
            foreach (var name in seeds.Select(s => s.Host!).Prepend(host))
                if (!IsLoopback(name)) throw new UsageException($"--insecure is for loopback only, and '{name}' is not: give this node the cluster's certificate (--tls-cert)");
            return null;
        }
        if (certificate is null)
            throw new UsageException("a node needs the cluster's certificate: --tls-cert FILE (or DBP_TLS_CERT), made once with 'dbp cert --out FILE' and given to every node (--insecure runs without, on loopback only)");
        try { return ClusterTls.Load(certificate, passwordFile); }
        catch (CertificateException e) { throw new UsageException(e.Message); }
    }

    private static NodeHost Start(Node node, string host, int port, string role, ClusterTls? tls)
    {
        if (tls is null) node.Log.LogWarning("--insecure: no TLS; any process on this machine can join this cluster, read the model and send it gradients");
        try
        {
            var hosted = NodeHost.Start(node.Akka, host, port, role, tls, node.Settings, node.Configuration, node.Logs, node.Boot?.Hocon());
            if (node.Probes is { } p) StopIfFails(hosted, () => ManagementEndpoint.Start(hosted.System, "+", p));
            return hosted;
        }
        catch (Exception e) when (e is not UsageException)
        {
            throw new IOException($"cannot start a node on {host}:{port}: {e.GetBaseException().Message}");
        }
    }

    /// <summary>Logs the first few TLS refusals as they happen, then only counts them.</summary>
    private static void ReportRefusals(Node node, ClusterTls? tls)
    {
        if (tls is null) return;
        tls.Refused += line => { if (tls.Refusals <= RefusalsShown) node.Log.LogWarning("{Refusal}", line); };
    }

    private static string Describe(ClusterTls? tls) => tls is null ? "without TLS" : $"with TLS, cluster certificate {ClusterTls.Short(tls.Fingerprint)}";

    /// <summary>Stops the node, within a bounded wait, when what it starts beside Akka cannot start.</summary>
    private static void StopIfFails(NodeHost hosted, Action start)
    {
        try { start(); }
        catch (IOException)
        {
            hosted.System.Terminate().Wait(TimeSpan.FromSeconds(10));
            throw;
        }
    }

    /// <summary>Leaves the cluster and stops, each within a bounded wait.</summary>
    private static void Leave(ActorSystem system)
    {
        if (system.WhenTerminated.IsCompleted) return;
        var cluster = Akka.Cluster.Cluster.Get(system);
        var removed = new TaskCompletionSource();
        cluster.RegisterOnMemberRemoved(() => removed.TrySetResult());
        cluster.Leave(cluster.SelfAddress);
        removed.Task.Wait(TimeSpan.FromSeconds(10));
        system.Terminate().Wait(TimeSpan.FromSeconds(10));
    }
}
