using System.Diagnostics;
using DistributedBackprop.Actors.DataPath;
using Xunit;

namespace DistributedBackprop.Actors.Tests;

public class ChannelCpuTests
{
    /// <summary>Burns about <paramref name="milliseconds"/> of this thread's CPU.</summary>
    private static double Spin(int milliseconds)
    {
        var clock = Stopwatch.StartNew();
        double x = 1;
        while (clock.ElapsedMilliseconds < milliseconds) x = Math.Sqrt(x + 1);
        return x;
    }

    [Fact]
    public void An_actor_that_runs_on_the_data_thread_that_delivered_its_message_is_not_counted_as_the_data_path()
    {
        if (ChannelCpu.Used() is not { } before) return; // only Linux counts threads' CPU
        TimeSpan? during = null;
        var thread = new Thread(() =>
        {
            Spin(200); // the data path's own work: counted
            ChannelCpu.Deliver(() => Spin(600), every: 1); // an actor's step, run inline by the executor: not counted
            during = ChannelCpu.Used();
        }) { Name = "dbp-data-test" };
        thread.Start();
        thread.Join();
        var counted = during!.Value - before;
        Assert.InRange(counted.TotalMilliseconds, 120, 500);
    }
}
