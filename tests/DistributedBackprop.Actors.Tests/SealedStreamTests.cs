using DistributedBackprop.Actors.DataPath;

namespace DistributedBackprop.Actors.Tests;

/// <summary>The data channel's sealed records: the same bytes across, and nothing changed, replayed or reordered accepted.</summary>
public class SealedStreamTests
{
    private static readonly byte[] KeyA = [.. Enumerable.Range(1, 16).Select(i => (byte)i)];
    private static readonly byte[] KeyB = [.. Enumerable.Range(101, 16).Select(i => (byte)i)];

    private static SealedStream Reader(byte[] wire) => new(new MemoryStream(wire), KeyB, KeyA);

    private static byte[] Data(int length) => [.. Enumerable.Range(0, length).Select(i => (byte)(i * 31 + (i >> 8)))];

    [Theory]
    [InlineData(1000, 3)] // small writes gathered into records of a megabyte: two full ones and the rest, at the flush
    [InlineData(300_001, 8)] // large writes sealed from the writer's buffer, a record each
    [InlineData(SealedStream.MaxRecord + 5, 5)] // larger than a record: cut into a megabyte and 5 bytes, twice, then the small rest
    public void Megabytes_written_in_any_pieces_are_read_back_in_any_pieces_with_the_same_bytes(int piece, int records)
    {
        var data = Data(SealedStream.MaxRecord * 2 + 12345);
        var wire = Sealed(data, piece);
        Assert.Equal(records, Records(wire).Count);
        using var reader = Reader(wire);
        var back = new byte[data.Length];
        for (int at = 0, read = 7; at < back.Length; read = read * 3 % 1_500_007 + 1)
            at += reader.Read(back.AsSpan(at, Math.Min(read, back.Length - at)));
        Assert.Equal(data, back);
        Assert.Equal(0, reader.Read(new byte[1])); // the end, between records
    }

    [Fact]
    public void The_wire_does_not_carry_the_plaintext()
    {
        var data = Data(4096);
        var wire = Sealed(data, 4096);
        Assert.Equal(4 + 4096 + 16, wire.Length);
        Assert.NotEqual(data, wire.AsSpan(4, 4096).ToArray());
    }

    [Theory]
    [InlineData(4)] // the first byte of ciphertext
    [InlineData(2000)] // inside it
    [InlineData(4 + 4096 + 15)] // the tag
    [InlineData(0)] // the length: the record is cut differently and fails its check, or is refused
    public void A_changed_byte_anywhere_closes_the_connection(int at)
    {
        var wire = Sealed(Data(4096), 4096);
        wire[at] ^= 0x01;
        using var reader = Reader(wire);
        Assert.Throws<ChannelException>(() => reader.ReadExactly(new byte[4096]));
    }

    [Fact]
    public void A_replayed_or_reordered_record_is_refused()
    {
        var wire = Sealed(Data(3000), 1000);
        var records = Records(Sealed(Data(3000), 1000, flushEach: true));
        Assert.Equal(3, records.Count);
        Assert.Single(Records(wire));

        using (var replay = Reader([.. records[0], .. records[0]]))
        {
            replay.ReadExactly(new byte[1000]);
            Assert.Throws<ChannelException>(() => replay.ReadExactly(new byte[1000]));
        }
        using var reordered = Reader([.. records[1], .. records[0]]);
        Assert.Throws<ChannelException>(() => reordered.ReadExactly(new byte[1000]));
    }

    [Fact]
    public void A_record_under_another_key_is_refused()
    {
        var wire = Sealed(Data(100), 100);
        using var reader = new SealedStream(new MemoryStream(wire), KeyB, KeyB);
        Assert.Throws<ChannelException>(() => reader.ReadExactly(new byte[100]));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(SealedStream.MaxRecord + 1)]
    public void A_length_out_of_bounds_is_refused_before_anything_is_read(int length)
    {
        var wire = new byte[64];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(wire, length);
        using var reader = Reader(wire);
        Assert.Contains("sealed record of", Assert.Throws<ChannelException>(() => reader.ReadExactly(new byte[1])).Message);
    }

    [Fact]
    public void A_stream_cut_inside_a_record_is_refused()
    {
        var wire = Sealed(Data(500), 500);
        using var cutLength = Reader(wire[..2]);
        Assert.Throws<ChannelException>(() => cutLength.ReadExactly(new byte[1]));
        using var cutBody = Reader(wire[..100]);
        Assert.Throws<ChannelException>(() => cutBody.ReadExactly(new byte[1]));
    }

    /// <summary>What a writer sealing under <see cref="KeyA"/> puts on the wire for <paramref name="data"/>, written in pieces of <paramref name="piece"/>.</summary>
    private static byte[] Sealed(byte[] data, int piece, bool flushEach = false)
    {
        var wire = new MemoryStream();
        var writer = new SealedStream(wire, KeyA, KeyB); // not disposed: that would close the wire
        for (int i = 0; i < data.Length; i += piece)
        {
            writer.Write(data.AsSpan(i, Math.Min(piece, data.Length - i)));
            if (flushEach) writer.Flush();
        }
        writer.Flush();
        return wire.ToArray();
    }

    /// <summary>The wire cut into its records, by their length prefixes.</summary>
    private static List<byte[]> Records(byte[] wire)
    {
        var records = new List<byte[]>();
        for (int at = 0; at < wire.Length;)
        {
            int size = 4 + System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(wire.AsSpan(at)) + 16;
            records.Add(wire[at..(at + size)]);
            at += size;
        }
        return records;
    }
}
