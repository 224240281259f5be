using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Akka.Discovery;

namespace DistributedBackprop.Actors;

/// <summary>
/// Akka.Discovery by the Kubernetes API: the running pods of this namespace that match a label selector, at the
/// container port of a given name. What Akka.Discovery.KubernetesApi does, in one request and without its
/// client library (the version served here cannot run it). The API server is reached as every pod reaches it
/// (KUBERNETES_SERVICE_HOST and _PORT), verified against the service account's CA, with its token; the answer
/// is read as untrusted text, and a malformed pod is skipped, never thrown over.
/// </summary>
public sealed class KubernetesPods : ServiceDiscovery
{
    public const string ConfigPath = "akka.discovery.dbp-kubernetes";
    /// <summary>A pod list of a few hundred pods is well under this; a larger answer is refused.</summary>
    public const long MaxResponseBytes = 16 << 20;

    private readonly string _apiUrl, _tokenPath, _namespace, _selector;
    private readonly HttpClient _http;

    public KubernetesPods(ExtendedActorSystem system) : this(system.Settings.Config.GetConfig(ConfigPath)) { }

    public KubernetesPods(Config config)
    {
        _apiUrl = config.GetString("api-url", "") is { Length: > 0 } url ? url.TrimEnd('/') : FromEnvironment();
        _tokenPath = config.GetString("api-token-path");
        var ns = config.GetString("pod-namespace", "");
        _namespace = ns.Length > 0 ? ns : File.Exists(config.GetString("pod-namespace-path")) ? File.ReadAllText(config.GetString("pod-namespace-path")).Trim() : "default";
        _selector = config.GetString("pod-label-selector");
        var ca = new X509Certificate2Collection();
        ca.ImportFromPemFile(config.GetString("api-ca-path")); // a bundle may hold more than one
        _http = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, cert, _, errors) => Trusted(ca, cert, errors) },
        }) { MaxResponseContentBufferSize = MaxResponseBytes };
    }

    private static string FromEnvironment()
    {
        var host = Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST");
        var port = Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_PORT");
        if (string.IsNullOrEmpty(host) || !int.TryParse(port, out var p)) throw new ConfigurationException("not in a Kubernetes pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set");
        return new UriBuilder("https", host, p).Uri.ToString().TrimEnd('/');
    }

    /// <summary>The API server's certificate: for its name, and issued under the service account's CA (and no other).</summary>
    private static bool Trusted(X509Certificate2Collection ca, X509Certificate? presented, SslPolicyErrors errors)
    {
        if (presented is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(new X509Certificate2(presented));
    }

    public override async Task<Resolved> Lookup(Lookup lookup, TimeSpan resolveTimeout)
    {
        using var cancel = new CancellationTokenSource(resolveTimeout);
        var uri = $"{_apiUrl}/api/v1/namespaces/{Uri.EscapeDataString(_namespace)}/pods?labelSelector={Uri.EscapeDataString(_selector)}";
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        // Read at every lookup: Kubernetes rotates a projected token.
        request.Headers.Authorization = new("Bearer", (await File.ReadAllTextAsync(_tokenPath, cancel.Token)).Trim());
        using var response = await _http.SendAsync(request, cancel.Token);
        if (response.StatusCode == HttpStatusCode.Forbidden)
            throw new IOException($"the Kubernetes API refuses to list pods in '{_namespace}' (403): the pod's service account needs the Role in deploy/k8s/rbac.yaml");
        if (!response.IsSuccessStatusCode) throw new IOException($"the Kubernetes API answered {(int)response.StatusCode} to listing pods in '{_namespace}'");
        var body = await response.Content.ReadAsStringAsync(cancel.Token);
        return new Resolved(lookup.ServiceName, Targets(body, lookup.PortName));
    }

    /// <summary>
    /// The contact points in a pod list (the API's JSON): each pod that is running, not being deleted, has an IP
    /// and, when <paramref name="portName"/> is given, a container port whose name contains it (as
    /// Akka.Discovery.KubernetesApi matches). Anything else in the text, or text that is not a pod list, gives none.
    /// </summary>
    public static IReadOnlyList<ResolvedTarget> Targets(string podList, string? portName)
    {
        var targets = new List<ResolvedTarget>();
        JsonDocument document;
        try { document = JsonDocument.Parse(podList, new JsonDocumentOptions { MaxDepth = 64 }); }
        catch (JsonException) { return targets; }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array)
                return targets;
            foreach (var pod in items.EnumerateArray())
                if (Target(pod, portName) is { } target) targets.Add(target);
        }
        return targets;
    }

    private static ResolvedTarget? Target(JsonElement pod, string? portName)
    {
        if (pod.ValueKind != JsonValueKind.Object) return null;
        if (Field(pod, "metadata") is { } meta && meta.TryGetProperty("deletionTimestamp", out var deleting) && deleting.ValueKind != JsonValueKind.Null) return null;
        if (Field(pod, "status") is not { } status || Text(status, "phase") != "Running") return null;
        if (!IPAddress.TryParse(Text(status, "podIP"), out var ip)) return null;
        if (portName is null) return new ResolvedTarget(ip.ToString(), null, ip);
        if (Field(pod, "spec") is not { } spec || Field(spec, "containers") is not { ValueKind: JsonValueKind.Array } containers) return null;
        foreach (var container in containers.EnumerateArray())
            if (Field(container, "ports") is { ValueKind: JsonValueKind.Array } ports)
                foreach (var port in ports.EnumerateArray())
                    if (Text(port, "name") is { } name && name.Contains(portName, StringComparison.Ordinal)
                        && Field(port, "containerPort") is { ValueKind: JsonValueKind.Number } number && number.TryGetInt32(out var p) && p is >= 1 and <= 65535)
                        return new ResolvedTarget(ip.ToString(), p, ip);
        return null;
    }

    private static JsonElement? Field(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v : null;

    private static string? Text(JsonElement e, string name) => Field(e, name) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;
}
