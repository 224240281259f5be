using DistributedBackprop.Actors.DataPath;
using DistributedBackprop.Cli.Bench;

namespace DistributedBackprop.Cli.Tests;

public class ClusterRunTests
{
    [Fact]
    public void The_benchmark_reads_what_a_node_logs_of_its_data_channel()
    {
        var line = ChannelCpu.Report(2_301_000_000);
        var (mb, cpuPerMb) = ClusterRun.Channel($"dbp: something else\ndbp: {line}\n");
        Assert.Equal(2301, mb);
        if (ChannelCpu.Used() is not null) Assert.True(cpuPerMb >= 0); // Linux counts the threads' CPU
        Assert.True(double.IsNaN(ClusterRun.Channel("dbp: nothing of the kind").Mb));
    }
}
