using System.Globalization;
using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Configuration;
using Akka.Management.Cluster.Bootstrap;
using Akka.Management.Dsl;

namespace DistributedBackprop.Actors;

/// <summary>
/// How a node on Kubernetes finds its cluster: Akka.Management's HTTP endpoint on <see cref="ManagementPort"/>,
/// and Cluster Bootstrap, which lists the pods that match <see cref="PodLabelSelector"/> through the
/// Kubernetes API (<see cref="KubernetesPods"/>) and asks each for the cluster's members. The pods selected are
/// the contact points: the parameter servers. When none of them is in a cluster yet and all
/// <see cref="RequiredContactPoints"/> have answered, the one with the lowest address forms it; the others, and
/// the workers (which may never form one: <see cref="NewClusterEnabled"/> is off for them), join it.
/// </summary>
public sealed record BootstrapSettings(string Hostname, int ManagementPort, string PodLabelSelector, int RequiredContactPoints, bool NewClusterEnabled)
{
    public const int DefaultManagementPort = 8558;
    /// <summary>The parameter-server pods; deploy/k8s labels them so, and the manifest check holds the two together.</summary>
    public const string DefaultPodLabelSelector = "app.kubernetes.io/name=dbp,app.kubernetes.io/component=parameter-server";
    /// <summary>The parameter-server nodes of a run (an active one and a standby).</summary>
    public const int DefaultRequiredContactPoints = 2;
    public const int MaxContactPoints = 64;

    // A label key is an optional DNS-subdomain prefix and a name of up to 63 characters; a value is such a name or empty.
    private static readonly Regex Name = new("^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$", RegexOptions.CultureInvariant);
    private static readonly Regex Prefix = new("^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$", RegexOptions.CultureInvariant);

    /// <summary>
    /// The settings from what a node was given (flags or environment, already chosen between), or a one-line
    /// reason to refuse them. <paramref name="discovery"/> null, empty or seed-nodes means no bootstrap: the
    /// result is null settings and no error.
    /// </summary>
    public static string? Parse(string? discovery, string role, string hostname, int akkaPort, bool seedNodesGiven,
        string? managementPort, string? podLabelSelector, string? requiredContactPoints, out BootstrapSettings? settings)
    {
        settings = null;
        if (string.IsNullOrEmpty(discovery) || discovery == "seed-nodes") return null;
        if (discovery != "kubernetes") return $"--discovery: unknown '{discovery}' (seed-nodes or kubernetes)";
        if (seedNodesGiven) return "--discovery kubernetes finds the cluster itself: give no --seed-nodes (or DBP_SEED_NODES) with it";
        if (hostname is "127.0.0.1" or "localhost" or "0.0.0.0" or "::1" or "::")
            return $"--discovery kubernetes: the node's --hostname (DBP_HOSTNAME) must be an address other pods reach, the pod's IP (status.podIP), not {hostname}";
        if (ParsePort(managementPort ?? DefaultManagementPort.ToString(CultureInfo.InvariantCulture), akkaPort, out var port) is { } badPort) return badPort;
        var selector = podLabelSelector ?? DefaultPodLabelSelector;
        if (SelectorError(selector) is { } bad) return $"--discovery-selector: {bad}";
        int required = DefaultRequiredContactPoints;
        if (requiredContactPoints is not null && (!int.TryParse(requiredContactPoints, NumberStyles.None, CultureInfo.InvariantCulture, out required) || required is < 1 or > MaxContactPoints))
            return $"--contact-points: '{requiredContactPoints}' is not a count from 1 to {MaxContactPoints}";
        settings = new BootstrapSettings(hostname, port, selector, required, NewClusterEnabled: role == ActorSystems.ParameterServerRole);
        return null;
    }

    /// <summary>The management port (1 to 65535, not the node's Akka port), or a one-line reason to refuse it.</summary>
    public static string? ParsePort(string text, int akkaPort, out int port)
    {
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
            return $"--management-port: '{text}' is not a port from 1 to 65535";
        return port == akkaPort ? $"--management-port {port} is the node's Akka port too: choose another" : null;
    }

    /// <summary>
    /// Why a label selector is refused, or null. Only equality terms (key=value, key==value, key!=value, key,
    /// !key) joined by commas: the selector also goes into HOCON and a URL, so nothing but label characters may pass.
    /// </summary>
    public static string? SelectorError(string selector)
    {
        if (selector.Length is 0 or > 1024) return "a label selector of 1 to 1024 characters, such as app.kubernetes.io/component=parameter-server";
        foreach (var term in selector.Split(','))
        {
            var t = term.Trim();
            var (key, value) = t.StartsWith('!') ? (t[1..], "") : Split(t, "!=") ?? Split(t, "==") ?? Split(t, "=") ?? (t, "");
            if (!Key(key)) return $"'{t}': '{key}' is not a label key ([prefix/]name, a name of 1 to 63 letters, digits, '-', '_' or '.')";
            if (value.Length > 0 && !Name.IsMatch(value)) return $"'{t}': '{value}' is not a label value (up to 63 letters, digits, '-', '_' or '.')";
        }
        return null;
    }

    private static (string, string)? Split(string term, string op) =>
        term.IndexOf(op, StringComparison.Ordinal) is var at and >= 0 ? (term[..at], term[(at + op.Length)..]) : null;

    private static bool Key(string key)
    {
        var slash = key.IndexOf('/');
        return slash < 0 ? Name.IsMatch(key) : Prefix.IsMatch(key[..slash]) && Name.IsMatch(key[(slash + 1)..]);
    }

    /// <summary>This node's part of the bootstrap's HOCON, over hocon/kubernetes.hocon (the part every node shares).</summary>
    public Config Hocon()
    {
        static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
        return ConfigurationFactory.ParseString($@"
            akka.management.http.hostname = {Quote(Hostname)}
            akka.management.http.port = {ManagementPort}
            akka.management.cluster.bootstrap.new-cluster-enabled = {(NewClusterEnabled ? "on" : "off")}
            akka.management.cluster.bootstrap.contact-point-discovery.required-contact-point-nr = {RequiredContactPoints}
            akka.discovery.dbp-kubernetes.pod-label-selector = {Quote(PodLabelSelector)}")
            .WithFallback(ActorSystems.Hocon("kubernetes"));
    }
}

/// <summary>Cluster Bootstrap on Kubernetes, started on a node's actor system in place of joining seed nodes.</summary>
public static class KubernetesBootstrap
{
    /// <summary>
    /// Starts the node's management endpoint (the bootstrap's contact point, and /alive and /ready) and
    /// Akka.Management's Cluster Bootstrap on <paramref name="system"/>: a cluster node that has joined nothing,
    /// has no seed nodes configured, and was created with <see cref="BootstrapSettings.Hocon"/> over its own
    /// settings (the extensions read theirs as they load; a fallback added later loses to their reference files).
    /// Returns the endpoint's address once it listens; the join happens in the background, and the caller waits
    /// for it as for any join (Cluster.RegisterOnMemberUp). Throws IOException with a one-line reason when it
    /// cannot start (the port taken, not in a pod).
    /// </summary>
    public static Uri Start(ActorSystem system, BootstrapSettings settings)
    {
        var config = system.Settings.Config;
        if (config.GetString("akka.discovery.method") != "dbp-kubernetes" || config.GetInt("akka.management.http.port") != settings.ManagementPort)
            throw new InvalidOperationException("the actor system was not created with BootstrapSettings.Hocon() over its settings");
        ManagementEndpoint.Start(system, settings.Hostname, settings.ManagementPort);
        var self = new UriBuilder("http", settings.Hostname, settings.ManagementPort).Uri;
        var bootstrap = ClusterBootstrap.Get(system);
        // Tells bootstrap its own contact point, as Akka.Management does when it gathers its routes.
        bootstrap.Routes(ManagementRouteProviderSettings.Create(self, readOnly: true));
        try
        {
            if (!bootstrap.Start().Wait(TimeSpan.FromSeconds(30))) throw new IOException("Cluster Bootstrap did not start within 30 s");
            return self;
        }
        catch (AggregateException e)
        {
            Exception cause = e;
            while (cause.InnerException is { } inner) cause = inner;
            throw new IOException($"cannot start Cluster Bootstrap: {cause.Message}");
        }
    }
}
