using Akka.Actor;
using Akka.TestKit.Xunit2;
using DistributedBackprop.Actors.DataPath;
using DistributedBackprop.Core;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors.Tests;

/// <summary>Shared memory between nodes of one machine: the segment's slots, what it refuses to open, and a link through it.</summary>
public class SharedSegmentTests() : TestKit(ActorSystems.Local())
{
    // The data-path tests' small model and node.
    private static readonly Objective Model = DataPathTests.Model;
    private static readonly ChannelModel Shapes = DataPathTests.Shapes;
    private static readonly Address Node = DataPathTests.Node;
    private readonly string _dir = Directory.CreateTempSubdirectory("dbp-shm-test-").FullName;

    private static NamedTensor[] Tensors(float seed) => DataPathTests.Tensors(seed);

    private static string Bits(IEnumerable<float[]> arrays) => string.Join(";", arrays.Select(a => string.Join(",", a.Select(BitConverter.SingleToInt32Bits))));
    private static float[][] Buffers() => [.. Shapes.Sizes.Select(n => new float[n])];

    [Fact]
    public void A_slot_is_read_with_every_bit_and_a_slot_written_again_since_is_refused_not_read_torn()
    {
        using var server = SharedSegment.Create(_dir, Shapes.Bytes)!;
        using var worker = SharedSegment.Open(_dir, server.Name, server.Nonce, Shapes.Bytes)!;
        Assert.NotNull(worker);
        var first = server.Put(SharedSegment.Updates, Tensors(1f))!.Value;
        var into = Buffers();
        Assert.True(worker.Get(SharedSegment.Updates, first.Slot, first.Stamp, into));
        Assert.Equal(Bits(Tensors(1f).Select(t => t.Value.ToArray())), Bits(into));
        Assert.False(worker.Get(SharedSegment.Gradients, first.Slot, first.Stamp, Buffers())); // the other direction has nothing
        for (int i = 0; i < SharedSegment.Slots; i++) server.Put(SharedSegment.Updates, Tensors(2f + i)); // round to the same slot again
        Assert.False(worker.Get(SharedSegment.Updates, first.Slot, first.Stamp, Buffers()));
        Assert.False(worker.Get(SharedSegment.Updates, SharedSegment.Slots, 1, Buffers())); // no such slot
        Assert.False(worker.Get(SharedSegment.Updates, -1, 1, Buffers()));
    }

    [Fact]
    public void A_reader_racing_the_writer_gets_whole_slots_or_none_never_a_torn_one()
    {
        using var server = SharedSegment.Create(_dir, Shapes.Bytes)!;
        using var worker = SharedSegment.Open(_dir, server.Name, server.Nonce, Shapes.Bytes)!;
        // Every value of frame n is n: a slot read half of one frame and half of another shows two values.
        NamedTensor[] Frame(long n) => [.. Model.Model.Parameters.Select(p =>
            new NamedTensor(p.Name, Tensor<float>.FromArray(Enumerable.Repeat((float)n, Core.Shapes.Size(p.Shape)).ToArray(), p.Shape)))];
        var frames = Enumerable.Range(0, 64).Select(n => Frame(n + 1)).ToArray();
        long written = 0;
        var writer = new Thread(() =>
        {
            for (int n = 0; n < 20_000; n++) { server.Put(SharedSegment.Gradients, frames[n % frames.Length]); Volatile.Write(ref written, n + 1); }
        });
        writer.Start();
        int whole = 0, refused = 0;
        var into = Buffers();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (writer.IsAlive && DateTime.UtcNow < deadline)
        {
            long stamp = Volatile.Read(ref written); // the frame just written, which the writer may be overwriting already
            if (stamp == 0) continue;
            if (!worker.Get(SharedSegment.Gradients, (int)(stamp % SharedSegment.Slots), stamp, into)) { refused++; continue; }
            float expected = (stamp - 1) % frames.Length + 1;
            Assert.All(into, buffer => Assert.All(buffer, v => Assert.Equal(expected, v)));
            whole++;
        }
        writer.Join();
        Assert.True(whole > 0, $"{whole} whole, {refused} refused");
    }

    [Fact]
    public void A_frame_in_shared_memory_is_refused_where_no_segment_was_mapped_and_a_stale_one_is_dropped()
    {
        using var segment = SharedSegment.Create(_dir, Shapes.Bytes)!;
        var frame = new MemoryStream();
        TensorFrames.WriteGradient(frame, new GradientShard(1, 1, 0, 1, 1, 0, Tensors(1f)), segment);
        var bytes = frame.ToArray();
        Assert.True(bytes.Length < Shapes.Bytes); // the header only: the tensors are in the slot

        var s = new MemoryStream(bytes);
        var (kind, header) = TensorFrames.ReadHeader(s)!.Value;
        Assert.Equal(TensorFrames.SharedGradient, kind);
        Assert.Contains("never mapped", Assert.Throws<ChannelException>(() => TensorFrames.ReadGradient(s, kind, header, Shapes, Buffers())).Message);
        for (int i = 0; i < SharedSegment.Slots; i++) segment.Put(SharedSegment.Gradients, Tensors(2f)); // its slot written again
        Assert.Null(TensorFrames.ReadGradient(s, kind, header, Shapes, Buffers(), segment));
    }

    [Fact]
    public void A_segment_is_its_users_alone_and_gone_from_the_directory_once_unlinked()
    {
        using var segment = SharedSegment.Create(_dir, Shapes.Bytes)!;
        var path = Path.Combine(_dir, segment.Name);
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(SharedSegment.Size(Shapes.Bytes), new FileInfo(path).Length);
        segment.Unlink();
        Assert.Empty(Directory.GetFiles(_dir));
        Assert.Null(SharedSegment.Open(_dir, segment.Name, segment.Nonce, Shapes.Bytes)); // another machine: nothing there
    }

    [Fact]
    public void An_offer_with_another_nonce_size_or_name_or_a_link_in_its_place_is_not_opened()
    {
        using var segment = SharedSegment.Create(_dir, Shapes.Bytes)!;
        var nonce = segment.Nonce;
        Assert.Null(SharedSegment.Open(_dir, segment.Name, new string('0', nonce.Length), Shapes.Bytes));
        Assert.Null(SharedSegment.Open(_dir, segment.Name, nonce, Shapes.Bytes + 64)); // another model's size
        Assert.Null(SharedSegment.Open(_dir, "../" + segment.Name, nonce, Shapes.Bytes)); // a path, not a name
        Assert.Null(SharedSegment.Open(_dir, segment.Name + "x", nonce, Shapes.Bytes));
        var target = Path.Combine(_dir, "victim");
        File.WriteAllBytes(target, new byte[SharedSegment.Size(Shapes.Bytes)]);
        var link = "dbp-" + new string('a', 32);
        File.CreateSymbolicLink(Path.Combine(_dir, link), target);
        Assert.Null(SharedSegment.Open(_dir, link, nonce, Shapes.Bytes));
        Assert.All(File.ReadAllBytes(target), b => Assert.Equal(0, b)); // nothing written through it
    }

    [Fact]
    public void A_link_on_the_servers_machine_moves_tensors_through_shared_memory_with_the_same_bits()
    {
        using var channel = new DataChannel("127.0.0.1", Shapes, GradientPool.For(Model), shared: _dir);
        var coordinator = CreateTestProbe();
        var worker = CreateTestProbe();
        channel.SetCoordinator(coordinator);
        using var link = DataLink.Connect(channel.Endpoint, channel.Token, Node, Shapes, GradientPool.For(Model), worker, shared: _dir);
        AwaitCondition(() => channel.SharesMemory(Node) && link.SharesMemory, TimeSpan.FromSeconds(10));
        Assert.Empty(Directory.GetFiles(_dir)); // unlinked once mapped

        for (int step = 0; step < 3 * SharedSegment.Slots; step++) // round the rings more than once
        {
            var tensors = Tensors(step);
            link.Send(new GradientShard(step, step, 0, 1, 8, 0.5, tensors));
            var arrived = coordinator.ExpectMsg<Coordinator.RemoteGradient>(TimeSpan.FromSeconds(10)).Gradient;
            Assert.Equal((long)step, arrived.Step);
            Assert.Equal(Bits(tensors.Select(t => t.Value.ToArray())), Bits(arrived.Gradients.Select(t => t.Value.ToArray())));
            var update = new ParameterUpdate(step + 1, Tensors(-step));
            Assert.True(channel.Send(Node, update));
            var received = worker.ExpectMsg<ParameterUpdate>(TimeSpan.FromSeconds(10));
            Assert.Equal(step + 1, received.Version);
            Assert.Equal(Bits(update.Parameters.Select(t => t.Value.ToArray())), Bits(received.Parameters.Select(t => t.Value.ToArray())));
        }
    }

    [Fact]
    public void A_link_on_another_machine_declines_the_offer_and_goes_on_by_socket()
    {
        var elsewhere = Directory.CreateTempSubdirectory("dbp-shm-other-").FullName;
        try
        {
            using var channel = new DataChannel("127.0.0.1", Shapes, GradientPool.For(Model), shared: _dir);
            var coordinator = CreateTestProbe();
            channel.SetCoordinator(coordinator);
            using var link = DataLink.Connect(channel.Endpoint, channel.Token, Node, Shapes, GradientPool.For(Model), CreateTestProbe(), shared: elsewhere);
            AwaitCondition(() => Directory.GetFiles(_dir).Length == 0, TimeSpan.FromSeconds(10)); // declined: the server's file is gone
            var tensors = Tensors(0.5f);
            link.Send(new GradientShard(1, 1, 0, 1, 4, 2, tensors));
            Assert.Equal(Bits(tensors.Select(t => t.Value.ToArray())), Bits(coordinator.ExpectMsg<Coordinator.RemoteGradient>(TimeSpan.FromSeconds(10)).Gradient.Gradients.Select(t => t.Value.ToArray())));
            Assert.False(channel.SharesMemory(Node));
            Assert.False(link.SharesMemory);
        }
        finally { Directory.Delete(elsewhere, recursive: true); }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) Directory.Delete(_dir, recursive: true);
    }
}
