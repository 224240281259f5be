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

public class CheckpointChecksumTests
{
    private static byte[] Bytes()
    {
        var p = Sequential.Mlp(3, [4], 2, "relu").Init<float>(5);
        var opt = new Adam(0.01);
        var (p2, s) = opt.Step(p, p.Map((_, t) => t), opt.Init(p));
        return new Checkpoint(p2, s, new Dictionary<string, string> { ["next_step"] = "1" }).ToBytes();
    }

    [Fact]
    public void Every_single_flipped_bit_is_refused()
    {
        var good = Bytes();
        int tried = 0;
        for (int i = 0; i < good.Length; i++)
            for (int bit = 0; bit < 8; bit++)
            {
                var bad = (byte[])good.Clone();
                bad[i] ^= (byte)(1 << bit);
                Assert.Throws<CheckpointException>(() => Checkpoint.FromBytes(bad, "flipped"));
                tried++;
            }
        Assert.Equal(good.Length * 8, tried);
    }

    [Fact]
    public void A_flipped_bit_in_a_weight_says_the_checksum_does_not_match()
    {
        var bytes = Bytes();
        bytes[bytes.Length / 2] ^= 0x10; // inside the tensors' raw bytes
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.FromBytes(bytes, "a.ckpt"));
        Assert.Equal("a.ckpt: damaged (its SHA-256 checksum does not match its contents): refused; resume from another copy or start again", e.Message);
    }

    [Fact]
    public void A_version_2_checkpoint_without_a_checksum_is_refused_by_its_version()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        var w = new MessagePack.MessagePackWriter(buffer);
        w.WriteArrayHeader(6);
        w.Write("dbp-checkpoint");
        w.Write(2);
        w.Flush();
        Assert.Equal("v2: checkpoint format version 2; this dbp reads version 3",
            Assert.Throws<CheckpointException>(() => Checkpoint.FromBytes(buffer.WrittenMemory, "v2")).Message);
    }
}

public class AtomicFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dbp-atomic-").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    private string Mkfifo(string name)
    {
        var path = Path.Combine(_dir, name);
        using var p = System.Diagnostics.Process.Start("mkfifo", [path])!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return path;
    }

    [Fact]
    public void A_named_pipe_a_symbolic_link_and_a_directory_are_refused_and_left_as_they_were()
    {
        var fifo = Mkfifo("pipe.png");
        var target = Path.Combine(_dir, "target.txt");
        File.WriteAllText(target, "keep");
        var link = Path.Combine(_dir, "link.png");
        File.CreateSymbolicLink(link, target);
        var folder = Directory.CreateDirectory(Path.Combine(_dir, "folder.png")).FullName;
        foreach (var (path, kind) in new[] { (fifo, "a named pipe"), (link, "a symbolic link"), (folder, "a directory") })
        {
            var e = Assert.Throws<OutputPathException>(() => AtomicFile.WriteAllText(path, "replaced"));
            Assert.Equal($"{path} is {kind}, not a regular file: dbp writes only regular files (or new ones)", e.Message);
            Assert.Throws<OutputPathException>(() => AtomicFile.CheckTarget(path, ".png"));
        }
        Assert.Equal("keep", File.ReadAllText(target));
        Assert.NotNull(new FileInfo(link).LinkTarget);
        Assert.Equal("a named pipe", AtomicFile.Kind(fifo));
        Assert.Equal(3 + 1, Directory.GetFileSystemEntries(_dir).Length); // nothing else was written
    }

    [Fact]
    public void A_regular_file_or_a_new_name_is_written_and_an_unknown_extension_refused()
    {
        var path = Path.Combine(_dir, "out.png");
        AtomicFile.CheckTarget(path, ".png");
        AtomicFile.WriteAllText(path, "a");
        AtomicFile.CheckTarget(path, ".png");
        AtomicFile.WriteAllText(path, "b");
        Assert.Equal("b", File.ReadAllText(path));
        Assert.Null(AtomicFile.Kind(path));
        var e = Assert.Throws<OutputPathException>(() => AtomicFile.CheckTarget(Path.Combine(_dir, "out.jpg"), ".png"));
        Assert.EndsWith("cannot write '.jpg' files here; use .png", e.Message);
    }

    [Fact]
    public void A_temporary_file_of_a_killed_writer_is_removed_by_the_next_write_and_a_live_ones_is_kept()
    {
        var path = Path.Combine(_dir, "checkpoint.dbp");
        using var dead = System.Diagnostics.Process.Start("true")!;
        dead.WaitForExit();
        var abandoned = Path.Combine(_dir, $".checkpoint.dbp.{dead.Id}.tmp");
        File.WriteAllText(abandoned, "half");
        using var alive = System.Diagnostics.Process.Start("sleep", ["30"])!;
        var writing = Path.Combine(_dir, $".checkpoint.dbp.{alive.Id}.tmp");
        File.WriteAllText(writing, "still writing");
        try
        {
            AtomicFile.WriteAllText(path, "whole");
            Assert.False(File.Exists(abandoned));
            Assert.True(File.Exists(writing));
            Assert.Equal("whole", File.ReadAllText(path));
        }
        finally { alive.Kill(); alive.WaitForExit(); }
    }

    [Fact]
    public void A_link_planted_at_the_temporary_path_is_not_written_through()
    {
        var victim = Path.Combine(_dir, "victim.txt");
        File.WriteAllText(victim, "keep");
        File.CreateSymbolicLink(Path.Combine(_dir, $".out.txt.{Environment.ProcessId}.tmp"), victim);
        AtomicFile.WriteAllText(Path.Combine(_dir, "out.txt"), "new");
        Assert.Equal("keep", File.ReadAllText(victim));
        Assert.Equal("new", File.ReadAllText(Path.Combine(_dir, "out.txt")));
    }
}
