using DistributedBackprop.Actors;

namespace DistributedBackprop.Actors.Tests;

public class BootstrapSettingsTests
{
    private static string? Parse(out BootstrapSettings? settings, string? discovery = "kubernetes", string role = "worker", string host = "10.1.2.3",
        bool seeds = false, string? port = null, string? selector = null, string? contactPoints = null) =>
        BootstrapSettings.Parse(discovery, role, host, 4053, seeds, port, selector, contactPoints, out settings);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("seed-nodes")]
    public void Without_kubernetes_discovery_there_is_no_bootstrap_and_no_error(string? discovery)
    {
        Assert.Null(Parse(out var settings, discovery));
        Assert.Null(settings);
    }

    [Fact]
    public void The_defaults_find_the_two_parameter_servers_on_port_8558()
    {
        Assert.Null(Parse(out var settings));
        Assert.Equal(new BootstrapSettings("10.1.2.3", 8558, "app.kubernetes.io/name=dbp,app.kubernetes.io/component=parameter-server", 2, false), settings);
    }

    [Fact]
    public void Only_a_parameter_server_may_form_a_new_cluster()
    {
        Assert.Null(Parse(out var server, role: "parameter-server"));
        Assert.Null(Parse(out var worker, role: "worker"));
        Assert.True(server!.NewClusterEnabled);
        Assert.False(worker!.NewClusterEnabled);
    }

    [Fact]
    public void Given_values_are_taken()
    {
        Assert.Null(Parse(out var settings, port: "9000", selector: "app=dbp, run!=old,tier", contactPoints: "3"));
        Assert.Equal((9000, "app=dbp, run!=old,tier", 3), (settings!.ManagementPort, settings.PodLabelSelector, settings.RequiredContactPoints));
    }

    [Theory]
    [InlineData("consul", null, null, null, null, false, "--discovery: unknown 'consul' (seed-nodes or kubernetes)")]
    [InlineData("kubernetes", "127.0.0.1", null, null, null, false, "--discovery kubernetes: the node's --hostname (DBP_HOSTNAME) must be an address other pods reach, the pod's IP (status.podIP), not 127.0.0.1")]
    [InlineData("kubernetes", null, null, null, null, true, "--discovery kubernetes finds the cluster itself: give no --seed-nodes (or DBP_SEED_NODES) with it")]
    [InlineData("kubernetes", null, "0", null, null, false, "--management-port: '0' is not a port from 1 to 65535")]
    [InlineData("kubernetes", null, "-1", null, null, false, "--management-port: '-1' is not a port from 1 to 65535")]
    [InlineData("kubernetes", null, "65536", null, null, false, "--management-port: '65536' is not a port from 1 to 65535")]
    [InlineData("kubernetes", null, "4053", null, null, false, "--management-port 4053 is the node's Akka port too: choose another")]
    [InlineData("kubernetes", null, null, null, "0", false, "--contact-points: '0' is not a count from 1 to 64")]
    [InlineData("kubernetes", null, null, null, "two", false, "--contact-points: 'two' is not a count from 1 to 64")]
    [InlineData("kubernetes", null, null, "", null, false, "--discovery-selector: a label selector of 1 to 1024 characters, such as app.kubernetes.io/component=parameter-server")]
    [InlineData("kubernetes", null, null, "app in (a,b)", null, false, "--discovery-selector: 'app in (a': 'app in (a' is not a label key ([prefix/]name, a name of 1 to 63 letters, digits, '-', '_' or '.')")]
    [InlineData("kubernetes", null, null, "app=\"x\"}", null, false, "--discovery-selector: 'app=\"x\"}': '\"x\"}' is not a label value (up to 63 letters, digits, '-', '_' or '.')")]
    [InlineData("kubernetes", null, null, "app=a=b", null, false, "--discovery-selector: 'app=a=b': 'a=b' is not a label value (up to 63 letters, digits, '-', '_' or '.')")]
    [InlineData("kubernetes", null, null, "Bad_Prefix/name=x", null, false, "--discovery-selector: 'Bad_Prefix/name=x': 'Bad_Prefix/name' is not a label key ([prefix/]name, a name of 1 to 63 letters, digits, '-', '_' or '.')")]
    public void A_bad_setting_is_refused_in_one_line(string discovery, string? host, string? port, string? selector, string? contactPoints, bool seeds, string error)
    {
        Assert.Equal(error, Parse(out var settings, discovery, host: host ?? "10.1.2.3", seeds: seeds, port: port, selector: selector, contactPoints: contactPoints));
        Assert.Null(settings);
        Assert.DoesNotContain('\n', error);
    }

    [Fact]
    public void The_nodes_own_settings_lie_over_the_shared_kubernetes_hocon()
    {
        var config = new BootstrapSettings("10.1.2.3", 9000, "app=dbp", 3, NewClusterEnabled: true).Hocon();
        Assert.Equal("10.1.2.3", config.GetString("akka.management.http.hostname"));
        Assert.Equal(9000, config.GetInt("akka.management.http.port"));
        Assert.True(config.GetBoolean("akka.management.cluster.bootstrap.new-cluster-enabled"));
        Assert.Equal(3, config.GetInt("akka.management.cluster.bootstrap.contact-point-discovery.required-contact-point-nr"));
        Assert.Equal("app=dbp", config.GetString("akka.discovery.dbp-kubernetes.pod-label-selector"));
        Assert.Equal("dbp-kubernetes", config.GetString("akka.discovery.method"));
        Assert.Equal("management", config.GetString("akka.management.cluster.bootstrap.contact-point-discovery.port-name"));
    }
}
