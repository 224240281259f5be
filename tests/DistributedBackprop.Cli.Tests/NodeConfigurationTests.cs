using DistributedBackprop.Actors;

namespace DistributedBackprop.Cli.Tests;

/// <summary>The layers of a node's settings, as the pure function that stacks them: hocon/, appsettings.json (beside the program, then the working directory), DBP_ variables, flags.</summary>
public sealed class NodeConfigurationTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("dbp-config-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Json(string name, string text)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void How_a_node_finds_its_cluster_comes_from_the_layers_too()
    {
        var working = Json("discovery.json", """{ "Dbp": { "Discovery": "kubernetes", "ContactPoints": "3", "ManagementPort": "8558" } }""");
        var environment = new Dictionary<string, string> { ["DBP_CONTACT_POINTS"] = "2", ["DBP_DISCOVERY_SELECTOR"] = "app=dbp" };
        var flags = new Dictionary<string, string?> { [NodeConfiguration.ManagementPort.Path] = "9000" };
        var configuration = NodeConfiguration.Build([working], environment, flags);
        Assert.Equal("kubernetes", configuration[NodeConfiguration.Discovery.Path]); // the file
        Assert.Equal("2", configuration[NodeConfiguration.ContactPoints.Path]);      // the environment over the file
        Assert.Equal("app=dbp", configuration[NodeConfiguration.DiscoverySelector.Path]);
        Assert.Equal("9000", configuration[NodeConfiguration.ManagementPort.Path]);  // the flag over the file
    }

    [Fact]
    public void Each_layer_overrides_the_one_below_and_leaves_the_rest()
    {
        var program = Json("program.json", """
            { "Dbp": { "Port": "5000", "Hostname": "127.0.0.5" },
              "akka": { "cluster": { "failure-detector": { "acceptable-heartbeat-pause": "20s", "heartbeat-interval": "2s" } },
                        "remote": { "dot-netty": { "tcp": { "maximum-frame-size": "8MiB" } } } } }
            """);
        var working = Json("working.json", """{ "Dbp": { "Port": "5001", "MinWorkers": "3" } }""");
        var environment = new Dictionary<string, string>
        {
            ["DBP_PORT"] = "5002",
            ["DBP_ROLE"] = "worker",
            ["DBP_AKKA__REMOTE__DOT_NETTY__TCP__MAXIMUM_FRAME_SIZE"] = "32MiB",
            ["DBP_BLAS"] = "managed", // not a node setting: ignored
            ["PORT"] = "9",
        };
        var flags = new Dictionary<string, string?> { ["Dbp:Role"] = "parameter-server" };
        var akkaFlag = NodeConfiguration.AkkaFlag("akka.cluster.failure-detector.acceptable-heartbeat-pause=12s");
        flags[akkaFlag.Key] = akkaFlag.Value;

        var configuration = NodeConfiguration.Build([program, working, Path.Combine(_folder, "missing.json")], environment, flags);
        var settings = NodeSettings.From(configuration);
        var akka = NodeConfiguration.Akka(configuration);

        Assert.Equal("127.0.0.5", settings.Hostname);        // the program's file, nothing above it
        Assert.Equal(3, settings.MinWorkers);                 // the working directory's file
        Assert.Equal(5002, settings.Port);                    // the environment over both files
        Assert.Equal("parameter-server", settings.Role);      // the flag over the environment
        Assert.Equal(32L * 1024 * 1024, akka.GetByteSize("akka.remote.dot-netty.tcp.maximum-frame-size"));      // environment over the file over hocon/
        Assert.Equal(TimeSpan.FromSeconds(12), akka.GetTimeSpan("akka.cluster.failure-detector.acceptable-heartbeat-pause")); // flag over the file
        Assert.Equal(TimeSpan.FromSeconds(2), akka.GetTimeSpan("akka.cluster.failure-detector.heartbeat-interval"));          // the file over hocon/
        Assert.Equal(TimeSpan.FromSeconds(3), akka.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));              // hocon/ alone
        Assert.Equal(16L * 1024 * 1024, ActorSystems.Hocon("cluster").GetByteSize("akka.remote.dot-netty.tcp.maximum-frame-size"));
    }

    [Fact]
    public void Without_any_layer_the_node_runs_on_the_built_in_hocon_and_its_defaults()
    {
        var configuration = NodeConfiguration.Build([], new Dictionary<string, string>(), new Dictionary<string, string?>());
        var settings = NodeSettings.From(configuration);
        Assert.Equal(("127.0.0.1", (int?)null, 1, TimeSpan.FromSeconds(60), LogFormat.Text), (settings.Hostname, settings.Port, settings.MinWorkers, settings.JoinTimeout, settings.LogFormat));
        Assert.Equal(ActorSystems.MaximumFrameSize, NodeConfiguration.Akka(configuration).GetByteSize("akka.remote.dot-netty.tcp.maximum-frame-size"));
    }

    [Fact]
    public void No_layer_can_turn_off_tls_or_untrusted_mode()
    {
        var environment = new Dictionary<string, string>
        {
            ["DBP_AKKA__REMOTE__DOT_NETTY__TCP__ENABLE_SSL"] = "off",
            ["DBP_AKKA__REMOTE__UNTRUSTED_MODE"] = "off",
        };
        var akka = NodeConfiguration.Akka(NodeConfiguration.Build([], environment, new Dictionary<string, string?>()));
        Assert.False(akka.GetBoolean("akka.remote.untrusted-mode")); // the layer did reach the configuration...
        var node = NodeHost.Pinned(tls: true).WithFallback(akka);    // ...and what the node runs with puts trust back on top
        Assert.True(node.GetBoolean("akka.remote.dot-netty.tcp.enable-ssl"));
        Assert.True(node.GetBoolean("akka.remote.untrusted-mode"));
        Assert.Contains("/user/worker-host", node.GetStringList("akka.remote.trusted-selection-paths"));
    }

    [Theory]
    [InlineData("--port", "DBP_PORT", "70000", "is not a port")]
    [InlineData("--join-timeout", "DBP_JOIN_TIMEOUT", "-1", "--join-timeout must be from 0 to 86400")]
    [InlineData("--log-level", "DBP_LOG_LEVEL", "loud", "--log-level: unknown 'loud'")]
    [InlineData("--log-format", "DBP_LOG_FORMAT", "xml", "--log-format: unknown 'xml'")]
    [InlineData("--metrics-host", "DBP_METRICS_HOST", "example.com", "is not an IP address")]
    [InlineData("--shared-memory", "DBP_SHARED_MEMORY", "yes", "'yes' is not on or off")]
    public void A_bad_value_from_any_layer_is_one_usage_error(string flag, string variable, string value, string message)
    {
        var configuration = NodeConfiguration.Build([], new Dictionary<string, string> { [variable] = value }, new Dictionary<string, string?>());
        var e = Assert.Throws<UsageException>(() => NodeSettings.From(configuration));
        Assert.Contains(message, e.Message);
        Assert.Contains(flag, e.Message);
    }

    [Fact]
    public void Shared_memory_is_on_unless_a_layer_turns_it_off()
    {
        NodeSettings Read(Dictionary<string, string> environment) =>
            NodeSettings.From(NodeConfiguration.Build([], environment, new Dictionary<string, string?>()));
        Assert.Equal(Actors.DataPath.SharedSegment.DefaultDirectory, Read([]).SharedMemory);
        Assert.Null(Read(new() { ["DBP_SHARED_MEMORY"] = "off" }).SharedMemory);
        Assert.Null(Read(new() { ["DBP_SHARED_MEMORY"] = "OFF" }).SharedMemory);
    }

    [Theory]
    [InlineData("remote.log-received-messages=on")]
    [InlineData("akka.cluster.roles")]
    [InlineData("akka.x\"y=1")]
    public void An_akka_flag_must_name_an_akka_path_and_a_value(string flag) =>
        Assert.Throws<UsageException>(() => NodeConfiguration.AkkaFlag(flag));
}
