using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using DistributedBackprop.Core;
using DistributedBackprop.Training;
using MessagePack;

namespace DistributedBackprop.Actors.DataPath;

/// <summary>Bytes on the data channel that are not what they should be: the connection is closed, with this reason.</summary>
public sealed class ChannelException(string message) : Exception(message);

/// <summary>The model a channel carries: parameter names and shapes in order, which every frame must match exactly.</summary>
public sealed record ChannelModel(string[] Names, int[][] Shapes)
{
    public static ChannelModel Of(Objective objective) =>
        new([.. objective.Model.Parameters.Select(p => p.Name)], [.. objective.Model.Parameters.Select(p => p.Shape)]);

    public int[] Sizes => [.. Shapes.Select(s => Core.Shapes.Size(s))];
}

/// <summary>
/// The data channel's frames: <c>[kind: 1 byte][header length: 4 bytes, little-endian][header: MessagePack]
/// [tensors: raw little-endian float32, in the model's order]</c>. The header carries the same ids as the
/// actor messages and every tensor's name and shape; a reader checks them against its model before it reads
/// a byte of tensor data, then reads the data straight into its own buffers: no copy, no allocation.
/// </summary>
public static class TensorFrames
{
    public const byte Hello = 1, Gradient = 2, Update = 3;
    private const int MaxHeader = 1 << 16;

    public static void WriteHello(Stream stream, string token, string node) =>
        _ = WriteFrame(stream, Hello, (ref MessagePackWriter w) => { w.WriteArrayHeader(2); w.Write(token); w.Write(node); }, []);

    public static long WriteGradient(Stream stream, GradientShard g) =>
        WriteFrame(stream, Gradient, (ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(7);
            w.Write(g.Version); w.Write(g.Step); w.Write(g.Shard); w.Write(g.Shards); w.Write(g.Count); w.Write(g.LossSum);
            WriteShapes(ref w, g.Gradients);
        }, g.Gradients);

    /// <summary>Writes an update frame; returns its size in bytes.</summary>
    public static long WriteUpdate(Stream stream, ParameterUpdate u) =>
        WriteFrame(stream, Update, (ref MessagePackWriter w) => { w.WriteArrayHeader(2); w.Write(u.Version); WriteShapes(ref w, u.Parameters); }, u.Parameters);

    private delegate void HeaderWriter(ref MessagePackWriter writer);

    private static long WriteFrame(Stream stream, byte kind, HeaderWriter header, NamedTensor[] tensors)
    {
        var bytes = new ArrayBufferWriter<byte>(256);
        var w = new MessagePackWriter(bytes);
        header(ref w);
        w.Flush();
        Span<byte> prefix = stackalloc byte[5];
        prefix[0] = kind;
        BinaryPrimitives.WriteInt32LittleEndian(prefix[1..], bytes.WrittenCount);
        stream.Write(prefix);
        stream.Write(bytes.WrittenSpan);
        long size = prefix.Length + bytes.WrittenCount;
        foreach (var t in tensors)
        {
            stream.Write(MemoryMarshal.AsBytes(t.Value.Data));
            size += t.Value.Length * sizeof(float);
        }
        return size;
    }

    private static void WriteShapes(ref MessagePackWriter w, NamedTensor[] tensors)
    {
        w.WriteArrayHeader(tensors.Length);
        foreach (var t in tensors)
        {
            w.WriteArrayHeader(2);
            w.Write(t.Name);
            w.WriteArrayHeader(t.Value.Rank);
            foreach (var d in t.Value.Dims) w.Write(d);
        }
    }

    /// <summary>The next frame's kind and header, or null at the end of the stream (between frames).</summary>
    public static (byte Kind, byte[] Header)? ReadHeader(Stream stream)
    {
        Span<byte> prefix = stackalloc byte[5];
        int got = stream.ReadAtLeast(prefix, prefix.Length, throwOnEndOfStream: false);
        if (got == 0) return null;
        if (got < prefix.Length) throw new ChannelException("the stream ended inside a frame");
        int length = BinaryPrimitives.ReadInt32LittleEndian(prefix[1..]);
        if (prefix[0] is not (Hello or Gradient or Update)) throw new ChannelException($"unknown frame kind {prefix[0]}");
        if (length is <= 0 or > MaxHeader) throw new ChannelException($"a frame header of {length} bytes");
        var header = new byte[length];
        stream.ReadExactly(header);
        return (prefix[0], header);
    }

    public static (string Token, string Node) ParseHello(byte[] header) => Parse(header, (ref MessagePackReader r) =>
    {
        if (r.ReadArrayHeader() != 2) throw new ChannelException("a hello is [token, node]");
        return (r.ReadString() ?? "", r.ReadString() ?? "");
    });

    /// <summary>A gradient's header, checked against the model; its tensors then read into <paramref name="buffers"/> (from the caller's pool).</summary>
    public static GradientShard ReadGradient(Stream stream, byte[] header, ChannelModel model, float[][] buffers)
    {
        var g = Parse(header, (ref MessagePackReader r) =>
        {
            if (r.ReadArrayHeader() != 7) throw new ChannelException("a gradient header has 7 fields");
            var ids = (r.ReadInt64(), r.ReadInt64(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadDouble());
            CheckShapes(ref r, model);
            return ids;
        });
        return new GradientShard(g.Item1, g.Item2, g.Item3, g.Item4, g.Item5, g.Item6, ReadTensors(stream, model, buffers));
    }

    public static ParameterUpdate ReadUpdate(Stream stream, byte[] header, ChannelModel model, float[][] buffers)
    {
        long version = Parse(header, (ref MessagePackReader r) =>
        {
            if (r.ReadArrayHeader() != 2) throw new ChannelException("an update header has 2 fields");
            long v = r.ReadInt64();
            CheckShapes(ref r, model);
            return v;
        });
        return new ParameterUpdate(version, ReadTensors(stream, model, buffers));
    }

    private delegate T HeaderReader<T>(ref MessagePackReader reader);

    private static T Parse<T>(byte[] header, HeaderReader<T> read)
    {
        try
        {
            var r = new MessagePackReader(header);
            var value = read(ref r);
            return r.End ? value : throw new ChannelException("bytes after the header");
        }
        catch (Exception e) when (e is MessagePackSerializationException or EndOfStreamException or InvalidOperationException or OverflowException)
        {
            throw new ChannelException($"a damaged header ({e.Message.TrimEnd('.')})");
        }
    }

    private static void CheckShapes(ref MessagePackReader r, ChannelModel model)
    {
        if (r.ReadArrayHeader() != model.Names.Length) throw new ChannelException($"a frame for a model of other than {model.Names.Length} parameters");
        for (int i = 0; i < model.Names.Length; i++)
        {
            if (r.ReadArrayHeader() != 2 || r.ReadString() != model.Names[i]) throw new ChannelException($"parameter {i} is not {model.Names[i]}");
            int rank = r.ReadArrayHeader();
            if (rank != model.Shapes[i].Length) throw new ChannelException($"{model.Names[i]} has rank {rank}, not {model.Shapes[i].Length}");
            for (int d = 0; d < rank; d++)
                if (r.ReadInt32() != model.Shapes[i][d]) throw new ChannelException($"{model.Names[i]} is not of shape {Shapes.Format(model.Shapes[i])}");
        }
    }

    private static NamedTensor[] ReadTensors(Stream stream, ChannelModel model, float[][] buffers)
    {
        var tensors = new NamedTensor[model.Names.Length];
        for (int i = 0; i < tensors.Length; i++)
        {
            stream.ReadExactly(MemoryMarshal.AsBytes(buffers[i].AsSpan()));
            tensors[i] = new NamedTensor(model.Names[i], new Tensor<float>(buffers[i], model.Shapes[i]));
        }
        return tensors;
    }
}
