using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using DistributedBackprop.Actors;
using DistributedBackprop.Actors.DataPath;
using DistributedBackprop.Core;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors.Tests;

/// <summary>The data channel on 127.0.0.1: frames, a link from a worker node, and what it refuses.</summary>
public class DataPathTests() : TestKit(ActorSystems.Local())
{
    internal static readonly Objective Model = new(Sequential.Mlp(3, [4], 2, "relu"), LossKind.CrossEntropy);
    internal static readonly ChannelModel Shapes = ChannelModel.Of(Model);
    internal static readonly Address Node = Address.Parse("akka.tcp://dbp@127.0.0.1:4100");

    internal static NamedTensor[] Tensors(float seed) => [.. Model.Model.Parameters.Select((p, i) =>
        new NamedTensor(p.Name, Tensor<float>.FromArray(Enumerable.Range(0, Core.Shapes.Size(p.Shape)).Select(k => seed * (k + 1) - i / 3f).ToArray(), p.Shape)))];

    private static string Bits(NamedTensor[] ts) => string.Join(";", ts.Select(t => t.Name + ":" + string.Join(",", t.Value.ToArray().Select(BitConverter.SingleToInt32Bits))));

    [Fact]
    public void A_gradient_and_an_update_cross_as_frames_with_every_id_and_bit()
    {
        var g = new GradientShard(7, 3, 2, 2, 9, 1.25, Tensors(0.5f));
        var stream = new MemoryStream();
        TensorFrames.WriteGradient(stream, g);
        TensorFrames.WriteUpdate(stream, new ParameterUpdate(8, Tensors(-2f)));
        stream.Position = 0;

        var (kind, header) = TensorFrames.ReadHeader(stream)!.Value;
        Assert.Equal(TensorFrames.Gradient, kind);
        var back = TensorFrames.ReadGradient(stream, kind, header, Shapes, [.. Shapes.Sizes.Select(n => new float[n])])!;
        Assert.Equal((7L, 3L, 2, 2, 9, 1.25), (back.Version, back.Step, back.Shard, back.Shards, back.Count, back.LossSum));
        Assert.Equal(Bits(g.Gradients), Bits(back.Gradients));

        (kind, header) = TensorFrames.ReadHeader(stream)!.Value;
        Assert.Equal(TensorFrames.Update, kind);
        var update = TensorFrames.ReadUpdate(stream, kind, header, Shapes, [.. Shapes.Sizes.Select(n => new float[n])])!;
        Assert.Equal(8, update.Version);
        Assert.Equal(Bits(Tensors(-2f)), Bits(update.Parameters));
        Assert.Null(TensorFrames.ReadHeader(stream)); // the end, between frames
    }

    [Fact]
    public void A_frame_for_another_model_or_cut_short_or_of_junk_is_refused_before_its_data_is_read()
    {
        var other = new Objective(Sequential.Mlp(3, [5], 2, "relu"), LossKind.CrossEntropy);
        var frame = new MemoryStream();
        TensorFrames.WriteGradient(frame, new GradientShard(1, 1, 0, 1, 1, 0, ChannelModel.Of(other) is var m
            ? [.. m.Names.Select((n, i) => new NamedTensor(n, Tensor<float>.Zeros(m.Shapes[i])))] : []));
        var bytes = frame.ToArray();
        var s = new MemoryStream(bytes);
        var (k, header) = TensorFrames.ReadHeader(s)!.Value;
        Assert.Contains("0.weight is not of shape [4, 3]", Assert.Throws<ChannelException>(() => TensorFrames.ReadGradient(s, k, header, Shapes, [])).Message);

        for (int n = 1; n < 40; n++) // a header cut anywhere
        {
            var cut = new MemoryStream(bytes[..n]);
            Assert.ThrowsAny<Exception>(() => { var h = TensorFrames.ReadHeader(cut); if (h is { } x) TensorFrames.ReadGradient(cut, x.Kind, x.Header, ChannelModel.Of(other), [.. ChannelModel.Of(other).Sizes.Select(k => new float[k])]); });
        }
        var rng = new Rng(5);
        int refused = 0;
        for (int i = 0; i < 500; i++)
        {
            var junk = new byte[rng.NextInt(64) + 5];
            for (int j = 0; j < junk.Length; j++) junk[j] = (byte)rng.NextInt(256);
            junk[0] = TensorFrames.Gradient;
            try
            {
                var js = new MemoryStream(junk);
                if (TensorFrames.ReadHeader(js) is { } h) TensorFrames.ReadGradient(js, h.Kind, h.Header, Shapes, [.. Shapes.Sizes.Select(k => new float[k])]);
            }
            catch (Exception e) when (e is ChannelException or EndOfStreamException) { refused++; }
        }
        Assert.Equal(500, refused);
        for (int i = 0; i < 300; i++) // junk where work, an offer or an answer to one belongs: refused as a frame, never thrown otherwise
        {
            var junk = new byte[rng.NextInt(40) + 1];
            for (int j = 0; j < junk.Length; j++) junk[j] = (byte)rng.NextInt(256);
            Assert.Throws<ChannelException>(() => TensorFrames.ParseWork(junk));
            Assert.Throws<ChannelException>(() => TensorFrames.ParseOffer(junk));
            Assert.Throws<ChannelException>(() => TensorFrames.ParseMapped(junk));
        }
        Assert.Throws<ChannelException>(() => TensorFrames.ReadHeader(new MemoryStream([9, 1, 0, 0, 0, 0])));
        Assert.Throws<ChannelException>(() => TensorFrames.ReadHeader(new MemoryStream([2, 0xFF, 0xFF, 0xFF, 0x7F])));
    }

    [Fact]
    public void A_worker_node_link_carries_gradients_in_and_updates_out_with_the_same_bits()
    {
        using var channel = new DataChannel("127.0.0.1", Shapes, GradientPool.For(Model));
        var coordinator = CreateTestProbe();
        var worker = CreateTestProbe();
        channel.SetCoordinator(coordinator);
        var pool = GradientPool.For(Model);
        using var link = DataLink.Connect(channel.Endpoint, channel.Token, Node, Shapes, pool, worker);

        var tensors = Tensors(0.25f);
        link.Send(new GradientShard(4, 2, 0, 2, 8, 3.5, tensors)); // its buffers go to the pool once written
        var arrived = coordinator.ExpectMsg<Coordinator.RemoteGradient>(TimeSpan.FromSeconds(10));
        Assert.Equal(Node, arrived.Node);
        Assert.Equal((4L, 2L, 0, 2, 8, 3.5), (arrived.Gradient.Version, arrived.Gradient.Step, arrived.Gradient.Shard, arrived.Gradient.Shards, arrived.Gradient.Count, arrived.Gradient.LossSum));
        Assert.Equal(Bits(tensors), Bits(arrived.Gradient.Gradients));

        AwaitCondition(() => channel.Connected(Node), TimeSpan.FromSeconds(10));
        var update = new ParameterUpdate(5, Tensors(3f));
        Assert.True(channel.Send(Node, update));
        var received = worker.ExpectMsg<ParameterUpdate>(TimeSpan.FromSeconds(10));
        Assert.Equal(5, received.Version);
        Assert.Equal(Bits(update.Parameters), Bits(received.Parameters));
        Assert.True(channel.BytesMoved >= 2 * Shapes.Sizes.Sum() * sizeof(float));

        // Work goes the same way, behind the update, as the message Akka would have brought.
        var work = new ComputeShard(5, 6, 2, 2, 3, [4, 1, 0, 7]);
        Assert.True(channel.SendWork(Node, work));
        var got = worker.ExpectMsg<ComputeShard>(TimeSpan.FromSeconds(10));
        Assert.Equal((work.Version, work.Step, work.Shard, work.Shards, work.MicroShard), (got.Version, got.Step, got.Shard, got.Shards, got.MicroShard));
        Assert.Equal(work.Examples, got.Examples);
        Assert.False(channel.SendWork(Node, work with { Examples = new int[TensorFrames.MaxWorkExamples + 1] })); // too large for a frame: by Akka
        Assert.False(channel.Send(Address.Parse("akka.tcp://dbp@127.0.0.1:4999"), update)); // a node with no link: by Akka instead
    }

    [Fact]
    public void Frames_sent_from_one_thread_arrive_in_order_whether_written_at_once_or_queued()
    {
        using var channel = new DataChannel("127.0.0.1", Shapes, GradientPool.For(Model));
        var worker = CreateTestProbe();
        channel.SetCoordinator(CreateTestProbe());
        using var link = DataLink.Connect(channel.Endpoint, channel.Token, Node, Shapes, GradientPool.For(Model), worker);
        link.Send(new GradientShard(0, 0, 0, 1, 4, 1, Tensors(1))); // the server learns of the node through its first frame
        AwaitCondition(() => channel.Connected(Node), TimeSpan.FromSeconds(10));
        // By socket an update is large and goes through the writer thread; work is small and is written at
        // once unless something is queued before it: either way, each behind the frame sent before it.
        for (int v = 1; v <= 3; v++)
        {
            Assert.True(channel.Send(Node, new ParameterUpdate(v, Tensors(v))));
            Assert.True(channel.SendWork(Node, new ComputeShard(v, v, 0, 1, 4, [0, 1, 2, 3])));
        }
        for (int v = 1; v <= 3; v++)
        {
            Assert.Equal(v, worker.ExpectMsg<ParameterUpdate>(TimeSpan.FromSeconds(10)).Version);
            Assert.Equal(v, worker.ExpectMsg<ComputeShard>(TimeSpan.FromSeconds(10)).Version);
        }
    }

    [Fact]
    public void What_a_delivery_runs_on_a_data_path_thread_is_left_out_of_its_cpu_by_the_threads_own_clock()
    {
        if (!OperatingSystem.IsLinux()) return; // the count is Linux's (/proc and CLOCK_THREAD_CPUTIME_ID)
        long start = ChannelCpu.ThreadNanoseconds();
        Assert.True(start > 0);
        long left = 0;
        var thread = new Thread(() => left = ChannelCpu.Deliver(new Burner(200_000_000), "work")) { Name = "dbp-data-cputest" };
        thread.Start();
        thread.Join();
        Assert.InRange(left, 200_000_000, 2_000_000_000); // at least the 200 ms of CPU the receiver burnt on this thread
    }

    /// <summary>A receiver that takes <paramref name="nanoseconds"/> of its caller's CPU, as an actor run by the channel executor there and then would.</summary>
    private sealed class Burner(long nanoseconds) : ICanTell
    {
        public void Tell(object message, IActorRef sender)
        {
            long until = ChannelCpu.ThreadNanoseconds() + nanoseconds;
            while (ChannelCpu.ThreadNanoseconds() < until) Thread.SpinWait(100);
        }
    }

    [Fact]
    public void A_connection_without_the_runs_token_or_with_junk_gets_nothing_in()
    {
        using var channel = new DataChannel("127.0.0.1", Shapes, GradientPool.For(Model));
        var coordinator = CreateTestProbe();
        channel.SetCoordinator(coordinator);
        using (var rogue = DataLink.Connect(channel.Endpoint, "not-the-token", Node, Shapes, GradientPool.For(Model), CreateTestProbe()))
        {
            rogue.Send(new GradientShard(0, 0, 0, 1, 1, 0, Tensors(1f)));
            AwaitCondition(() => !rogue.Open, TimeSpan.FromSeconds(10)); // the channel hangs up
        }
        var port = int.Parse(channel.Endpoint.Split(':')[1]);
        using (var raw = new TcpClient())
        {
            raw.Connect(IPAddress.Loopback, port);
            raw.GetStream().Write(new byte[] { 2, 5, 0, 0, 0, 1, 2, 3, 4, 5 }); // a gradient before any hello
            raw.GetStream().ReadTimeout = 10_000;
            Assert.Equal(0, raw.GetStream().Read(new byte[1])); // closed
        }
        coordinator.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.False(channel.Connected(Node));
    }

    private static ClusterTls NewCluster() =>
        new(System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(ClusterTls.Export(ClusterTls.Create(2), null), null));

    [Fact]
    public void With_the_clusters_certificate_the_channel_is_mutual_tls_and_another_certificate_gets_nothing_in()
    {
        var cluster = NewCluster();
        using var channel = new DataChannel("127.0.0.1", Shapes, GradientPool.For(Model), cluster);
        var coordinator = CreateTestProbe();
        channel.SetCoordinator(coordinator);
        using (var rogue = DataLink.Connect(channel.Endpoint, channel.Token, Node, Shapes, GradientPool.For(Model), CreateTestProbe(), NewCluster()))
        {
            rogue.Send(new GradientShard(0, 0, 0, 1, 1, 0, Tensors(1f))); // the right token, another certificate
            AwaitCondition(() => !rogue.Open, TimeSpan.FromSeconds(10));
        }
        coordinator.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.True(cluster.Refusals > 0);

        var worker = CreateTestProbe();
        using var link = DataLink.Connect(channel.Endpoint, channel.Token, Node, Shapes, GradientPool.For(Model), worker, cluster);
        var tensors = Tensors(0.75f);
        link.Send(new GradientShard(1, 1, 0, 1, 4, 2, tensors));
        Assert.Equal(Bits(tensors), Bits(coordinator.ExpectMsg<Coordinator.RemoteGradient>(TimeSpan.FromSeconds(10)).Gradient.Gradients));
        AwaitCondition(() => channel.Connected(Node), TimeSpan.FromSeconds(10));
        Assert.True(channel.Send(Node, new ParameterUpdate(2, Tensors(-1f))));
        Assert.Equal(Bits(Tensors(-1f)), Bits(worker.ExpectMsg<ParameterUpdate>(TimeSpan.FromSeconds(10)).Parameters));
    }
}
