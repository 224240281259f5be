using System.Buffers.Binary;
using System.IO.Compression;

namespace DistributedBackprop.Data;

/// <summary>
/// The IDX format (LeCun's MNIST files): two zero bytes, a type byte, a rank byte, the dimensions as
/// big-endian int32, then the data. Plain or gzip (told by gzip's magic bytes, not the name). Only unsigned
/// bytes (0x08), the type of every MNIST-like file, are read; anything malformed is a one-line DataException.
/// </summary>
public static class Idx
{
    public sealed record Array(int[] Shape, byte[] Data);

    public static Array Read(string path)
    {
        byte[] raw;
        try { raw = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new DataException($"{path}: cannot read ({e.Message})"); }
        var name = Path.GetFileName(path);
        if (raw.Length >= 2 && raw[0] == 0x1f && raw[1] == 0x8b)
        {
            try
            {
                using var gz = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
                using var plain = new MemoryStream();
                gz.CopyTo(plain);
                raw = plain.ToArray();
            }
            catch (InvalidDataException e) { throw new DataException($"{name}: damaged gzip ({e.Message})"); }
        }
        return Parse(raw, name);
    }

    public static Array Parse(ReadOnlySpan<byte> bytes, string name)
    {
        if (bytes.Length < 4) throw new DataException($"{name}: truncated: {bytes.Length} bytes, an IDX header needs at least 4");
        if (bytes[0] != 0 || bytes[1] != 0) throw new DataException($"{name}: not an IDX file (it must start with two zero bytes)");
        if (bytes[2] != 0x08) throw new DataException($"{name}: IDX element type 0x{bytes[2]:X2} is not supported (only unsigned bytes, 0x08)");
        int rank = bytes[3];
        if (rank == 0) throw new DataException($"{name}: IDX rank 0");
        int header = 4 + 4 * rank;
        if (bytes.Length < header) throw new DataException($"{name}: truncated: the header needs {header} bytes, found {bytes.Length}");
        var shape = new int[rank];
        long size = 1;
        for (int i = 0; i < rank; i++)
        {
            shape[i] = BinaryPrimitives.ReadInt32BigEndian(bytes.Slice(4 + 4 * i));
            if (shape[i] < 0) throw new DataException($"{name}: negative dimension {shape[i]}");
            size *= shape[i];
            if (size > int.MaxValue) throw new DataException($"{name}: dimensions too large");
        }
        long available = bytes.Length - header;
        if (available < size) throw new DataException($"{name}: truncated: expected {size} data bytes, found {available}");
        if (available > size) throw new DataException($"{name}: {available - size} bytes after the data");
        return new Array(shape, bytes.Slice(header, (int)size).ToArray());
    }
}
