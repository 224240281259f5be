using DistributedBackprop.Core;
using DistributedBackprop.Nn;

namespace DistributedBackprop.Nn.Tests;

public class CheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dbp-ckpt-").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    private static Checkpoint Sample()
    {
        var p = Sequential.Mlp(3, [4], 2, "relu").Init<float>(5);
        var opt = new Adam(0.01);
        var (p2, s) = opt.Step(p, p.Map((_, t) => t), opt.Init(p));
        return new Checkpoint(p2, s, new Dictionary<string, string> { ["step"] = "1", ["rng"] = ulong.MaxValue.ToString() });
    }

    [Fact]
    public void Round_trips_parameters_optimizer_state_and_metadata()
    {
        var c = Sample();
        var path = Path.Combine(_dir, "a.ckpt");
        c.Save(path);
        var back = Checkpoint.Load(path);
        Assert.Equal(c.Parameters.Hash(), back.Parameters.Hash());
        Assert.Equal(c.Parameters.Names, back.Parameters.Names);
        Assert.Equal(c.Optimizer.Slots.Hash(), back.Optimizer.Slots.Hash());
        Assert.Equal(1, back.Optimizer.Step);
        Assert.Equal(ulong.MaxValue.ToString(), back.Meta["rng"]);
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    [Fact]
    public void Every_truncation_is_refused_with_a_clear_error()
    {
        var bytes = Sample().ToBytes();
        for (int n = 0; n < bytes.Length; n += Math.Max(1, n / 8))
        {
            var e = Assert.Throws<CheckpointException>(() => Checkpoint.FromBytes(bytes.AsMemory(0, n), "x.ckpt"));
            Assert.StartsWith("x.ckpt: ", e.Message);
        }
    }

    [Fact]
    public void A_foreign_file_is_not_a_checkpoint()
    {
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.FromBytes("hello, world"u8.ToArray(), "notes.txt"));
        Assert.Contains("not a dbp checkpoint", e.Message);
        var rng = new Rng(3);
        for (int i = 0; i < 200; i++)
        {
            var junk = new byte[rng.NextInt(300)];
            for (int j = 0; j < junk.Length; j++) junk[j] = (byte)rng.NextInt(256);
            Assert.Throws<CheckpointException>(() => Checkpoint.FromBytes(junk, "junk"));
        }
    }

    [Fact]
    public void A_checkpoint_of_another_format_version_says_which()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        var w = new MessagePack.MessagePackWriter(buffer);
        w.WriteArrayHeader(7); // version 1 had seven fields
        w.Write("dbp-checkpoint");
        w.Write(1);
        w.Flush();
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.FromBytes(buffer.WrittenMemory, "old.ckpt"));
        Assert.Equal($"old.ckpt: checkpoint format version 1; this dbp reads version {Checkpoint.FormatVersion}", e.Message);
    }

    [Fact]
    public void A_damaged_tensor_size_is_caught()
    {
        var bytes = Sample().ToBytes();
        // Flip the first dimension of the first tensor's shape: its byte count no longer fits.
        var good = Checkpoint.FromBytes(bytes, "a");
        int at = Array.IndexOf(bytes, (byte)0x92, 20); // the first shape array header [out, in]
        Assert.True(at > 0);
        bytes[at + 1] ^= 0x01;
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.FromBytes(bytes, "a"));
        Assert.Contains("bytes", e.Message);
        Assert.NotNull(good);
    }

    [Fact]
    public void A_failed_save_leaves_the_previous_checkpoint_whole()
    {
        var path = Path.Combine(_dir, "a.ckpt");
        Sample().Save(path);
        var before = File.ReadAllBytes(path);
        Assert.ThrowsAny<IOException>(() => Sample().Save(Path.Combine(_dir, "missing", "b.ckpt")));
        Assert.Equal(before, File.ReadAllBytes(path));
    }
}
