using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Akka.Actor;
using Akka.Configuration;
using DistributedBackprop.Actors;

namespace DistributedBackprop.Actors.Tests;

/// <summary>
/// Cluster Bootstrap end to end on 127.0.0.1: a stand-in for the Kubernetes API (TLS with a CA of its own, a
/// token) lists the parameter-server pod, and the nodes form their cluster through Akka.Management.
/// </summary>
public sealed class KubernetesBootstrapTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(90);
    private readonly FakeKubernetesApi _api = new();
    private readonly List<ActorSystem> _systems = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

    public void Dispose()
    {
        foreach (var system in _systems) system.Terminate().Wait(TimeSpan.FromSeconds(10));
        _api.Dispose();
        _http.Dispose();
    }

    private static int FreePort() => DistributedBackprop.Actors.FreePort.OnLoopback();

    private (ActorSystem System, Uri Management) Node(string role, int managementPort, bool mayFormCluster)
    {
        var fake = ConfigurationFactory.ParseString($@"
            akka.discovery.dbp-kubernetes {{
              api-url = ""{_api.Url}""
              api-ca-path = ""{_api.CaPath}""
              api-token-path = ""{_api.TokenPath}""
              pod-namespace = test
            }}
            akka.management.cluster.bootstrap.contact-point.probe-interval = 1s
            akka.management.cluster.bootstrap.contact-point-discovery.stable-margin = 1s");
        var settings = new BootstrapSettings("127.0.0.1", managementPort, "app.kubernetes.io/component=parameter-server", 1, mayFormCluster);
        var system = ActorSystems.CreateCluster("127.0.0.1", 0, role, [], tls: null, over: fake.WithFallback(settings.Hocon()));
        _systems.Add(system);
        var uri = KubernetesBootstrap.Start(system, settings);
        return (system, uri);
    }

    private async Task<HttpStatusCode> Get(Uri management, string path) => (await _http.GetAsync(new Uri(management, path))).StatusCode;

    private async Task<bool> Eventually(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + Limit;
        for (int i = 0; i < 900 && DateTime.UtcNow < deadline; i++)
        {
            if (await condition()) return true;
            await Task.Delay(100);
        }
        return false;
    }

    [Fact]
    public async Task The_server_forms_the_cluster_and_a_worker_joins_it_through_the_servers_contact_point()
    {
        int serverPort = FreePort();
        _api.Pods = FakeKubernetesApi.PodList(("127.0.0.1", serverPort));
        var (server, serverUri) = Node(ActorSystems.ParameterServerRole, serverPort, mayFormCluster: true);
        Assert.Equal(HttpStatusCode.OK, await Get(serverUri, "alive"));
        Assert.True(await Eventually(async () => await Get(serverUri, "ready") == HttpStatusCode.OK), "the server never became ready");

        var (worker, workerUri) = Node(ActorSystems.WorkerRole, FreePort(), mayFormCluster: false);
        Assert.True(await Eventually(async () => await Get(workerUri, "ready") == HttpStatusCode.OK), "the worker never became ready");
        // One cluster: the server sees the worker as a member.
        var workerAddress = Akka.Cluster.Cluster.Get(worker).SelfAddress;
        Assert.True(await Eventually(() => Task.FromResult(Akka.Cluster.Cluster.Get(server).State.Members.Any(m => m.Address == workerAddress))), "the server never saw the worker");
        // The API was asked as a pod asks it: its token, its namespace, the selector.
        Assert.Contains(_api.Requests, r => r.StartsWith("GET /api/v1/namespaces/test/pods?labelSelector=app.kubernetes.io%2Fcomponent%3Dparameter-server "));
        Assert.DoesNotContain(_api.Refused, r => r.Length > 0);
    }

    [Fact]
    public async Task A_worker_with_no_server_to_join_is_alive_but_never_ready_and_the_port_shows_only_bootstrap_and_probes()
    {
        _api.Pods = FakeKubernetesApi.PodList();
        var (_, uri) = Node(ActorSystems.WorkerRole, FreePort(), mayFormCluster: false);
        Assert.True(await Eventually(() => Task.FromResult(_api.Requests.Count >= 2)), "discovery never asked the API");
        Assert.Equal(HttpStatusCode.OK, await Get(uri, "alive"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await Get(uri, "ready"));
        Assert.Equal(HttpStatusCode.OK, await Get(uri, "bootstrap/seed-nodes"));
        Assert.Equal(HttpStatusCode.NotFound, await Get(uri, "remote/address"));
        Assert.Equal(HttpStatusCode.NotFound, await Get(uri, "cluster-client/receptionist"));
    }

    [Fact]
    public async Task A_wrong_token_is_refused_by_the_api_and_no_cluster_forms()
    {
        int port = FreePort();
        _api.Pods = FakeKubernetesApi.PodList(("127.0.0.1", port));
        _api.Token = "another-token";
        var (_, uri) = Node(ActorSystems.ParameterServerRole, port, mayFormCluster: true);
        Assert.True(await Eventually(() => Task.FromResult(_api.Refused.Count >= 2)), "discovery never asked the API");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await Get(uri, "ready"));
    }
}

/// <summary>The Kubernetes API's pod list on 127.0.0.1 over TLS, its certificate issued by a CA file it writes.</summary>
internal sealed class FakeKubernetesApi : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly X509Certificate2 _certificate;
    private readonly string _dir = Directory.CreateTempSubdirectory("dbp-k8s-").FullName;
    private readonly CancellationTokenSource _stop = new();
    public volatile string Pods = PodList();
    public volatile string Token = "test-token";
    public readonly List<string> Requests = [], Refused = [];

    public FakeKubernetesApi()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=kubernetes", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var made = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        _certificate = X509CertificateLoader.LoadPkcs12(made.Export(X509ContentType.Pfx), null);
        File.WriteAllText(CaPath, made.ExportCertificatePem());
        File.WriteAllText(TokenPath, "test-token\n");
        _listener.Start();
        _ = Task.Run(Serve);
    }

    public string Url => $"https://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
    public string CaPath => Path.Combine(_dir, "ca.crt");
    public string TokenPath => Path.Combine(_dir, "token");

    public static string PodList(params (string Ip, int ManagementPort)[] pods) =>
        "{\"kind\":\"PodList\",\"items\":[" + string.Join(",", pods.Select(p =>
            $"{{\"metadata\":{{\"name\":\"server\"}},\"spec\":{{\"containers\":[{{\"name\":\"dbp\",\"ports\":[{{\"name\":\"management\",\"containerPort\":{p.ManagementPort}}}]}}]}},\"status\":{{\"phase\":\"Running\",\"podIP\":\"{p.Ip}\"}}}}")) + "]}";

    private async Task Serve()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) { return; }
            _ = Task.Run(() => Answer(client));
        }
    }

    private async Task Answer(TcpClient client)
    {
        using var _ = client;
        try
        {
            await using var tls = new SslStream(client.GetStream());
            await tls.AuthenticateAsServerAsync(_certificate);
            var head = new StringBuilder();
            var buffer = new byte[4096];
            while (!head.ToString().Contains("\r\n\r\n") && head.Length < 65536)
            {
                int n = await tls.ReadAsync(buffer);
                if (n == 0) return;
                head.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
            var lines = head.ToString().Split("\r\n");
            bool authorized = lines.Any(l => l.Equals($"Authorization: Bearer {Token}", StringComparison.OrdinalIgnoreCase));
            lock (Requests) (authorized ? Requests : Refused).Add(lines[0]);
            var (status, body) = authorized ? ("200 OK", Pods) : ("401 Unauthorized", "{}");
            var bytes = Encoding.UTF8.GetBytes(body);
            await tls.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {bytes.Length}\r\nConnection: close\r\n\r\n"));
            await tls.WriteAsync(bytes);
        }
        catch (Exception e) when (e is IOException or AuthenticationException or SocketException or ObjectDisposedException) { }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        Directory.Delete(_dir, recursive: true);
    }
}
