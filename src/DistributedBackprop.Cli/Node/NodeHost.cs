using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Remote.Hosting;
using DistributedBackprop.Actors;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace DistributedBackprop.Cli;

/// <summary>
/// One incarnation of a node as an Akka.Hosting service on Microsoft.Extensions.Hosting: its actor system,
/// configured from the layers (<see cref="NodeConfiguration.Akka"/>), then this node's address and role
/// (Akka.Remote.Hosting, Akka.Cluster.Hosting), then what trust rests on, which no layer may change: TLS on
/// unless --insecure, untrusted mode and its selection paths, the guardian that ignores a Kill. Akka logs
/// through the process's ILoggerFactory (<see cref="AkkaLogBridge"/>). A worker that rejoins starts a new
/// one; the process's log and metrics outlive it.
/// </summary>
public sealed class NodeHost : IDisposable
{
    private readonly IHost _host;
    public ActorSystem System { get; }

    private NodeHost(IHost host)
    {
        _host = host;
        System = host.Services.GetRequiredService<ActorSystem>();
    }

    public static NodeHost Start(Config akka, string hostname, int port, string role, ClusterTls? tls, NodeSettings settings, IConfiguration configuration, ILoggerFactory logs)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSingleton(logs); // the process's: its lines and the node's share one writer
        // dbp decides when a node stops; the console lifetime would swallow Ctrl-C and SIGTERM instead.
        builder.Services.AddSingleton<IHostLifetime, ProcessLifetime>();
        builder.Services.AddAkka(ActorSystems.SystemName, (b, _) =>
        {
            b.AddHocon(akka, HoconAddMode.Append);
            b.ConfigureLoggers(l =>
            {
                l.LogLevel = NodeLogging.AkkaLevel(settings);
                l.ClearLoggers();
                l.AddLogger<AkkaLogBridge>();
            });
            b.WithRemoting(new RemoteOptions { HostName = hostname, Port = port });
            b.WithClustering(new ClusterOptions { Roles = [role] });
            b.AddHocon(Pinned(tls is not null), HoconAddMode.Prepend);
            if (tls is not null) b.AddSetup(tls.Setup());
            b.AddStartup((system, _) => AfterStart(system, configuration));
        });
        var host = builder.Build();
        // Akka.Hosting writes a failure to start to standard output, which is dbp's results: send it to standard error.
        var output = Console.Out;
        Console.SetOut(Console.Error);
        try { host.StartAsync().GetAwaiter().GetResult(); }
        catch
        {
            host.Dispose();
            throw;
        }
        finally { Console.SetOut(output); }
        return new NodeHost(host);
    }

    /// <summary>
    /// Runs once the actor system has started, before dbp joins it to the cluster: the place for a step such as
    /// Akka.Management's cluster bootstrap (one call on <paramref name="system"/>, its settings from
    /// <paramref name="configuration"/>).
    /// </summary>
    private static void AfterStart(ActorSystem system, IConfiguration configuration) { }

    /// <summary>The settings the node's trust rests on, from hocon/cluster.hocon, over every layer.</summary>
    public static Config Pinned(bool tls)
    {
        var cluster = ActorSystems.Hocon("cluster");
        static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
        var paths = string.Join(", ", cluster.GetStringList("akka.remote.trusted-selection-paths").Select(Quote));
        return ConfigurationFactory.ParseString($@"
            akka.remote.dot-netty.tcp.enable-ssl = {(tls ? "on" : "off")}
            akka.remote.untrusted-mode = on
            akka.remote.trusted-selection-paths = [{paths}]
            akka.actor.guardian-supervisor-strategy = {Quote(cluster.GetString("akka.actor.guardian-supervisor-strategy"))}
            akka.cluster.seed-nodes = []");
    }

    /// <summary>The process's own signal handling, untouched: Ctrl-C and SIGTERM end a node as they end any dbp command.</summary>
    private sealed class ProcessLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    public void Dispose()
    {
        try { _host.StopAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult(); }
        catch (OperationCanceledException) { }
        _host.Dispose();
    }
}
