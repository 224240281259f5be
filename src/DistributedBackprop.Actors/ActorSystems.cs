using Akka.Actor;
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

    /// <summary>cluster.hocon under base.hocon, with this node's address, role and seed nodes on top.</summary>
    public static Config Cluster(string hostname, int port, string role, IEnumerable<string> seedNodes)
    {
        static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
        var node = $@"
            akka.remote.dot-netty.tcp.hostname = {Quote(hostname)}
            akka.remote.dot-netty.tcp.port = {port}
            akka.cluster.roles = [{Quote(role)}]
            akka.cluster.seed-nodes = [{string.Join(", ", seedNodes.Select(Quote))}]";
        return ConfigurationFactory.ParseString(node).WithFallback(Hocon("cluster")).WithFallback(Hocon("base"));
    }
}
