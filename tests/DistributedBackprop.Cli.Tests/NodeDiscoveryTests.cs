using static DistributedBackprop.Cli.Tests.DbpRunner;

namespace DistributedBackprop.Cli.Tests;

/// <summary>dbp node's bootstrap flags reach BootstrapSettings and come back as one line, exit 2, before any node starts.</summary>
public class NodeDiscoveryTests
{
    [Theory]
    [InlineData("the pod's IP (status.podIP), not 127.0.0.1", "--role", "worker", "--discovery", "kubernetes", "--tls-cert", "x.pfx")]
    [InlineData("give no --seed-nodes (or DBP_SEED_NODES) with it", "--role", "worker", "--discovery", "kubernetes", "--hostname", "10.1.2.3", "--seed-nodes", "akka.ssl.tcp://dbp@10.1.2.4:4053")]
    [InlineData("--management-port 4053 is the node's Akka port too", "--role", "parameter-server", "--discovery", "kubernetes", "--hostname", "10.1.2.3", "--management-port", "4053", "--", "train", "regression")]
    [InlineData("--discovery-selector: 'app=a b': 'a b' is not a label value", "--role", "worker", "--discovery", "kubernetes", "--hostname", "10.1.2.3", "--discovery-selector", "app=a b")]
    [InlineData("--contact-points: '99' is not a count from 1 to 64", "--role", "worker", "--discovery", "kubernetes", "--hostname", "10.1.2.3", "--contact-points", "99")]
    [InlineData("--management-port: 'http' is not a port from 1 to 65535", "--role", "worker", "--insecure", "--seed-nodes", "akka.tcp://dbp@127.0.0.1:4053", "--management-port", "http")]
    public void A_bad_bootstrap_setting_is_one_line_and_exit_2(string expected, params string[] args) =>
        AssertBadInput(Run(["node", .. args]), expected);
}
