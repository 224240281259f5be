using System.Buffers.Binary;
using System.IO.Compression;
using DistributedBackprop.Data;

namespace DistributedBackprop.Data.Tests;

public class IdxTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dbp-idx-").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>An IDX file of unsigned bytes, written by the test's own hand.</summary>
    internal static byte[] IdxBytes(int[] shape, byte[] data)
    {
        var bytes = new byte[4 + 4 * shape.Length + data.Length];
        bytes[2] = 0x08;
        bytes[3] = (byte)shape.Length;
        for (int i = 0; i < shape.Length; i++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), shape[i]);
        data.CopyTo(bytes, 4 + 4 * shape.Length);
        return bytes;
    }

    internal static byte[] Gzip(byte[] plain)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(plain);
        return ms.ToArray();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Reads_plain_and_gzipped_files_alike(bool gzip)
    {
        var data = Enumerable.Range(0, 24).Select(i => (byte)(i * 7)).ToArray();
        var plain = IdxBytes([2, 3, 4], data);
        var path = Path.Combine(_dir, "a.idx"); // the name says nothing about compression
        File.WriteAllBytes(path, gzip ? Gzip(plain) : plain);
        var idx = Idx.Read(path);
        Assert.Equal([2, 3, 4], idx.Shape);
        Assert.Equal(data, idx.Data);
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 8 }, "truncated")]
    [InlineData(new byte[] { 1, 0, 8, 1, 0, 0, 0, 0 }, "not an IDX file")]
    [InlineData(new byte[] { 0, 0, 0x0D, 1, 0, 0, 0, 0 }, "0x0D is not supported")]
    [InlineData(new byte[] { 0, 0, 8, 2, 0, 0, 0, 1 }, "the header needs 12 bytes")]
    [InlineData(new byte[] { 0, 0, 8, 1, 0, 0, 0, 3, 9, 9 }, "expected 3 data bytes, found 2")]
    [InlineData(new byte[] { 0, 0, 8, 1, 0, 0, 0, 1, 9, 9 }, "1 bytes after the data")]
    [InlineData(new byte[] { 0, 0, 8, 1, 0xFF, 0, 0, 0 }, "negative dimension")]
    [InlineData(new byte[] { 0, 0, 8, 2, 0x7F, 0, 0, 0, 0x7F, 0, 0, 0 }, "too large")]
    public void Malformed_files_are_refused_with_what_is_wrong(byte[] bytes, string message)
    {
        var e = Assert.Throws<DataException>(() => Idx.Parse(bytes, "f.idx"));
        Assert.StartsWith("f.idx: ", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void A_damaged_gzip_is_refused()
    {
        var gz = Gzip(IdxBytes([100], new byte[100]));
        gz[gz.Length / 2] ^= 0xFF;
        gz[gz.Length / 2 + 1] ^= 0xFF;
        var path = Path.Combine(_dir, "b.gz");
        File.WriteAllBytes(path, gz[..(gz.Length - 6)]);
        Assert.Throws<DataException>(() => Idx.Read(path));
    }
}
