using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;

namespace DistributedBackprop.Actors;

/// <summary>Actor systems configured from the files in <c>hocon/</c> (embedded in this assembly).</summary>
public static class ActorSystems
{
    public static Config Hocon(string name)
    {
        using var stream = typeof(ActorSystems).Assembly.GetManifestResourceStream($"hocon.{name}.hocon")
            ?? throw new FileNotFoundException($"no embedded hocon/{name}.hocon");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    }

    /// <summary>base.hocon under local.hocon, under <paramref name="overrides"/> (e.g. serialize-messages = on in tests).</summary>
    public static Config Local(string? overrides = null) =>
        (overrides is null ? Config.Empty : ConfigurationFactory.ParseString(overrides))
            .WithFallback(Hocon("local")).WithFallback(Hocon("base"));

    public static ActorSystem CreateLocal(string name = "dbp", string? overrides = null) => ActorSystem.Create(name, Local(overrides));

    public const string SystemName = "dbp";
    public const string ParameterServerRole = "parameter-server", WorkerRole = "worker";

    /// <summary>The address scheme of a node: Akka's DotNetty transport names TLS in it.</summary>
    public static string Protocol(bool tls) => tls ? "akka.ssl.tcp" : "akka.tcp";

    /// <summary>cluster.hocon under base.hocon, with this node's address, role, seed nodes and TLS switch on top.</summary>
    public static Config Cluster(string hostname, int port, string role, IEnumerable<string> seedNodes, bool tls)
    {
        static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
        var node = $@"
            akka.remote.dot-netty.tcp.hostname = {Quote(hostname)}
            akka.remote.dot-netty.tcp.port = {port}
            akka.remote.dot-netty.tcp.enable-ssl = {(tls ? "on" : "off")}
            akka.cluster.roles = [{Quote(role)}]
            akka.cluster.seed-nodes = [{string.Join(", ", seedNodes.Select(Quote))}]";
        return ConfigurationFactory.ParseString(node).WithFallback(Hocon("cluster")).WithFallback(Hocon("base"));
    }

    /// <summary>
    /// A cluster node's actor system: mutual TLS with <paramref name="tls"/>, or plain TCP when it is null;
    /// <paramref name="over"/> on top of everything (Kubernetes bootstrap's settings, say).
    /// </summary>
    public static ActorSystem CreateCluster(string hostname, int port, string role, IEnumerable<string> seedNodes, ClusterTls? tls, Config? over = null)
    {
        var config = Cluster(hostname, port, role, seedNodes, tls is not null);
        var setup = BootstrapSetup.Create().WithConfig(over is null ? config : over.WithFallback(config));
        return ActorSystem.Create(SystemName, tls is null ? ActorSystemSetup.Create(setup) : setup.And(tls.Setup()));
    }

    /// <summary>The largest message a cluster node sends or accepts (cluster.hocon's maximum-frame-size).</summary>
    public static long MaximumFrameSize => MaximumFrameSizeIn(Hocon("cluster"));

    /// <summary>The largest message a node with <paramref name="config"/> sends or accepts (Akka's default where it says none).</summary>
    public static long MaximumFrameSizeIn(Config config) => config.GetByteSize("akka.remote.dot-netty.tcp.maximum-frame-size") ?? 128000;
}
