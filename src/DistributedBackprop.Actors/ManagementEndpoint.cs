using System.Collections.Immutable;
using System.Net;
using System.Text;
using Akka.Actor;
using Akka.Cluster;
using Newtonsoft.Json;
using static Akka.Management.Cluster.Bootstrap.ContactPoint.HttpBootstrapJsonProtocol;

namespace DistributedBackprop.Actors;

/// <summary>What the probes say: alive while the actor system runs; ready once this node is a member that is up.</summary>
public static class Health
{
    public static bool Alive(bool terminated) => !terminated;

    /// <summary>
    /// Up (or weakly up, during a partition) is a member that takes part in the run: a worker that can be given
    /// shards, a server that can be followed. Joining is not yet; leaving, exiting, down and removed are no more.
    /// </summary>
    public static bool Ready(bool terminated, MemberStatus self) => !terminated && self is MemberStatus.Up or MemberStatus.WeaklyUp;
}

/// <summary>
/// The node's management HTTP endpoint: Cluster Bootstrap's contact point (/bootstrap/seed-nodes, in
/// Akka.Management's own JSON types, as its HttpClusterBootstrapRoutes answers) and the probes /alive and /ready.
/// Akka.Management 1.5.73's own server (Akka.Http.Shim) cannot start here: it calls a method of Ceen.Httpd 0.9.9
/// that 0.9.10, the only one served, does not have. Plain HTTP, read-only, nothing else: no training traffic.
/// </summary>
public sealed class ManagementEndpoint : IDisposable
{
    /// <summary>As Akka.Management's max-seed-nodes-to-expose: a joining node needs a few, not all.</summary>
    public const int SeedNodesShown = 5;
    private readonly HttpListener _listener = new();
    private readonly ActorSystem _system;

    private ManagementEndpoint(ActorSystem system, string host, int port)
    {
        _system = system;
        _listener.Prefixes.Add($"http://{(host.Contains(':') ? $"[{host}]" : host)}:{port}/");
        _listener.Start();
        _ = Task.Run(Serve);
    }

    /// <summary>
    /// Listens on <paramref name="host"/>:<paramref name="port"/> until the actor system terminates; host "+" is
    /// every interface (a container's health check asks 127.0.0.1).
    /// </summary>
    public static ManagementEndpoint Start(ActorSystem system, string host, int port)
    {
        ManagementEndpoint endpoint;
        try { endpoint = new ManagementEndpoint(system, host, port); }
        catch (HttpListenerException e) { throw new IOException($"cannot listen for management HTTP on {host}:{port}: {e.Message}"); }
        system.RegisterOnTermination(endpoint.Dispose);
        return endpoint;
    }

    public void Dispose() { try { _listener.Close(); } catch (ObjectDisposedException) { } }

    private async Task Serve()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            try { Answer(context); }
            catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException) { }
            finally { context.Response.Close(); }
        }
    }

    private void Answer(HttpListenerContext context)
    {
        var (status, type, body) = context.Request.HttpMethod != "GET" ? (405, "text/plain", "GET only\n") : Route(context.Request.Url?.AbsolutePath);
        context.Response.StatusCode = status;
        context.Response.ContentType = type;
        var bytes = Encoding.UTF8.GetBytes(body);
        context.Response.ContentLength64 = bytes.Length;
        context.Response.OutputStream.Write(bytes);
    }

    private (int, string, string) Route(string? path)
    {
        bool terminated = _system.WhenTerminated.IsCompleted;
        return path switch
        {
            "/alive" => Health.Alive(terminated) ? (200, "text/plain", "alive\n") : (503, "text/plain", "terminated\n"),
            "/ready" => Health.Ready(terminated, Cluster.Get(_system).SelfMember.Status) ? (200, "text/plain", "ready\n") : (503, "text/plain", "not up\n"),
            "/bootstrap/seed-nodes" => (200, "application/json", JsonConvert.SerializeObject(SeedNodesOf(Cluster.Get(_system)))),
            _ => (404, "text/plain", "not found\n"),
        };
    }

    /// <summary>What a joining node is told, as Akka.Management tells it: the members that are reachable and joining or up.</summary>
    private static SeedNodes SeedNodesOf(Cluster cluster)
    {
        var self = cluster.SelfMember;
        if (self.Status is MemberStatus.Down or MemberStatus.Exiting or MemberStatus.Leaving or MemberStatus.Removed)
            return new SeedNodes(self.UniqueAddress.Address, ImmutableList<ClusterMember>.Empty);
        var state = cluster.State;
        var members = state.Members
            .Where(m => !state.Unreachable.Contains(m) && m.Status is MemberStatus.Up or MemberStatus.WeaklyUp or MemberStatus.Joining)
            .Take(SeedNodesShown)
            .Select(m => new ClusterMember(m.UniqueAddress.Address, m.UniqueAddress.Uid, m.Status, m.Roles));
        return new SeedNodes(self.UniqueAddress.Address, members.ToImmutableList());
    }
}
