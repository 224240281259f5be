using DistributedBackprop.Actors;

namespace DistributedBackprop.Actors.Tests;

public class KubernetesPodsTests
{
    private static string Pod(string phase = "Running", string? ip = "10.0.0.7", string portName = "management", int port = 8558, bool deleting = false)
    {
        var meta = deleting ? "{\"name\":\"p\",\"deletionTimestamp\":\"2026-12-01T00:00:00Z\"}" : "{\"name\":\"p\"}";
        var ports = $"[{{\"name\":\"akka\",\"containerPort\":4053}},{{\"name\":\"{portName}\",\"containerPort\":{port}}}]";
        var status = ip is null ? $"{{\"phase\":\"{phase}\"}}" : $"{{\"phase\":\"{phase}\",\"podIP\":\"{ip}\"}}";
        return $"{{\"metadata\":{meta},\"spec\":{{\"containers\":[{{\"name\":\"c\",\"ports\":{ports}}}]}},\"status\":{status}}}";
    }

    private static string List(params string[] pods) => $"{{\"kind\":\"PodList\",\"items\":[{string.Join(",", pods)}]}}";

    [Fact]
    public void A_running_pod_is_a_contact_point_at_its_named_port()
    {
        var target = Assert.Single(KubernetesPods.Targets(List(Pod()), "management"));
        Assert.Equal(("10.0.0.7", (int?)8558), (target.Host, target.Port));
    }

    [Fact]
    public void Pods_not_running_being_deleted_without_an_ip_or_without_the_port_are_left_out()
    {
        var list = List(Pod(phase: "Pending"), Pod(deleting: true), Pod(ip: null), Pod(ip: "not-an-ip"), Pod(portName: "http"), Pod(port: 70000), Pod(ip: "10.0.0.9"));
        Assert.Equal(["10.0.0.9"], KubernetesPods.Targets(list, "management").Select(t => t.Host));
    }

    [Fact]
    public void Without_a_port_name_every_running_pod_counts_with_no_port()
    {
        var target = Assert.Single(KubernetesPods.Targets(List(Pod(portName: "http")), null));
        Assert.Null(target.Port);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("{\"items\":{}}")]
    [InlineData("{\"items\":[1,\"x\",null,{\"status\":3},{\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.1\"},\"spec\":{\"containers\":\"x\"}}]}")]
    public void Text_that_is_not_a_pod_list_gives_no_contact_points(string text) =>
        Assert.Empty(KubernetesPods.Targets(text, "management"));
}
