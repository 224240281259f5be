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

    // Worked out once: a channel's reader counts them for every frame.
    public int[] Sizes { get; } = [.. Shapes.Select(s => Core.Shapes.Size(s))];

    /// <summary>The bytes of all its tensors, as float32.</summary>
    public long Bytes { get; } = Shapes.Sum(s => (long)Core.Shapes.Size(s)) * sizeof(float);
}

/// <summary>
/// The data channel's frames: <c>[kind: 1 byte][header length: 4 bytes, little-endian][header: MessagePack]
/// [tensors: raw little-endian float32, in the model's order]</c>. The header carries the same ids as the
/// actor messages and every tensor's name and shape; a reader checks them against its model before it reads
/// a byte of tensor data, then reads the data straight into its own buffers: no copy, no allocation. Between
/// nodes on one machine the tensors may instead be in a <see cref="SharedSegment"/> the server offered: such a
/// frame's header ends with the slot and its stamp, and no tensor data follows it.
/// </summary>
public static class TensorFrames
{
    public const byte Hello = 1, Gradient = 2, Update = 3, Offer = 4, Mapped = 5, SharedGradient = 6, SharedUpdate = 7, Work = 8;
    private const int MaxHeader = 1 << 16;

    public static void WriteHello(Stream stream, string token, string node) =>
        _ = WriteFrame(stream, Hello, (ref MessagePackWriter w) => { w.WriteArrayHeader(2); w.Write(token); w.Write(node); }, []);

    /// <summary>The server's offer of a shared segment: its name and nonce.</summary>
    internal static void WriteOffer(Stream stream, SharedSegment segment) =>
        _ = WriteFrame(stream, Offer, (ref MessagePackWriter w) => { w.WriteArrayHeader(2); w.Write(segment.Name); w.Write(segment.Nonce); }, []);

    /// <summary>The worker's answer to an offer: whether it mapped the segment.</summary>
    public static void WriteMapped(Stream stream, bool mapped) =>
        _ = WriteFrame(stream, Mapped, (ref MessagePackWriter w) => { w.WriteArrayHeader(1); w.Write(mapped); }, []);

    /// <summary>The most examples a work frame carries (its header's bound); more go by Akka.</summary>
    public const int MaxWorkExamples = MaxHeader / 8;

    /// <summary>Work for a worker node: the same message, in the same format, as by Akka.</summary>
    public static void WriteWork(Stream stream, ComputeShard work) =>
        _ = WriteFrame(stream, Work, (ref MessagePackWriter w) => MessagePackSerializer.Serialize(ref w, work, WireFormat.Options), []);

    public static ComputeShard ParseWork(byte[] header) => Parse(header, (ref MessagePackReader r) =>
        MessagePackSerializer.Deserialize<ComputeShard>(ref r, WireFormat.Options) ?? throw new ChannelException("empty work"));

    /// <summary>Writes a gradient frame, its tensors into <paramref name="shared"/> where given; returns the bytes it moved.</summary>
    internal static long WriteGradient(Stream stream, GradientShard g, SharedSegment? shared = null)
    {
        var placed = shared?.Put(SharedSegment.Gradients, g.Gradients);
        return WriteFrame(stream, placed is null ? Gradient : SharedGradient, (ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(placed is null ? 7 : 9);
            w.Write(g.Version); w.Write(g.Step); w.Write(g.Shard); w.Write(g.Shards); w.Write(g.Count); w.Write(g.LossSum);
            WriteShapes(ref w, g.Gradients);
            WritePlace(ref w, placed);
        }, g.Gradients, placed is null);
    }

    /// <summary>Writes an update frame, its tensors into <paramref name="shared"/> where given; returns the bytes it moved.</summary>
    internal static long WriteUpdate(Stream stream, ParameterUpdate u, SharedSegment? shared = null)
    {
        var placed = shared?.Put(SharedSegment.Updates, u.Parameters);
        return WriteFrame(stream, placed is null ? Update : SharedUpdate, (ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(placed is null ? 2 : 4);
            w.Write(u.Version);
            WriteShapes(ref w, u.Parameters);
            WritePlace(ref w, placed);
        }, u.Parameters, placed is null);
    }

    private static void WritePlace(ref MessagePackWriter w, (int Slot, long Stamp)? placed)
    {
        if (placed is not { } p) return;
        w.Write(p.Slot);
        w.Write(p.Stamp);
    }

    private delegate void HeaderWriter(ref MessagePackWriter writer);

    /// <summary>Writes a frame, with its tensors' data unless they went by shared memory; the bytes moved, the tensors' either way.</summary>
    private static long WriteFrame(Stream stream, byte kind, HeaderWriter header, NamedTensor[] tensors, bool data = true)
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
            if (data) stream.Write(MemoryMarshal.AsBytes(t.Value.Data));
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
        if (prefix[0] is < Hello or > Work) throw new ChannelException($"unknown frame kind {prefix[0]}");
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

    public static (string Name, string Nonce) ParseOffer(byte[] header) => Parse(header, (ref MessagePackReader r) =>
    {
        if (r.ReadArrayHeader() != 2) throw new ChannelException("an offer is [name, nonce]");
        return (r.ReadString() ?? "", r.ReadString() ?? "");
    });

    public static bool ParseMapped(byte[] header) => Parse(header, (ref MessagePackReader r) =>
    {
        if (r.ReadArrayHeader() != 1) throw new ChannelException("an answer to an offer is [mapped]");
        return r.ReadBoolean();
    });

    /// <summary>
    /// A gradient's header, checked against the model; its tensors then read into <paramref name="buffers"/> (from
    /// the caller's pool), from the stream or, for <see cref="SharedGradient"/>, from <paramref name="shared"/>:
    /// null if its slot has since been written again (the frame is dropped).
    /// </summary>
    internal static GradientShard? ReadGradient(Stream stream, byte kind, byte[] header, ChannelModel model, float[][] buffers, SharedSegment? shared = null)
    {
        bool inShared = Shared(kind, Gradient, SharedGradient, shared);
        var g = Parse(header, (ref MessagePackReader r) =>
        {
            if (r.ReadArrayHeader() != (inShared ? 9 : 7)) throw new ChannelException($"a gradient header has {(inShared ? 9 : 7)} fields");
            var ids = (r.ReadInt64(), r.ReadInt64(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadDouble());
            CheckShapes(ref r, model);
            return (ids, Place: inShared ? (r.ReadInt32(), r.ReadInt64()) : default);
        });
        var (v, s, shard, shards, count, loss) = g.ids;
        var tensors = Tensors(stream, model, buffers, inShared ? shared : null, SharedSegment.Gradients, g.Place);
        return tensors is null ? null : new GradientShard(v, s, shard, shards, count, loss, tensors);
    }

    /// <summary>An update's header, checked against the model, and its tensors, as for a gradient.</summary>
    internal static ParameterUpdate? ReadUpdate(Stream stream, byte kind, byte[] header, ChannelModel model, float[][] buffers, SharedSegment? shared = null)
    {
        bool inShared = Shared(kind, Update, SharedUpdate, shared);
        var (version, place) = Parse(header, (ref MessagePackReader r) =>
        {
            if (r.ReadArrayHeader() != (inShared ? 4 : 2)) throw new ChannelException($"an update header has {(inShared ? 4 : 2)} fields");
            long v = r.ReadInt64();
            CheckShapes(ref r, model);
            return (v, inShared ? (r.ReadInt32(), r.ReadInt64()) : default);
        });
        var tensors = Tensors(stream, model, buffers, inShared ? shared : null, SharedSegment.Updates, place);
        return tensors is null ? null : new ParameterUpdate(version, tensors);
    }

    /// <summary>Whether a frame of <paramref name="kind"/> has its data in shared memory; a kind other than the two expected is refused.</summary>
    private static bool Shared(byte kind, byte inline, byte inShared, SharedSegment? shared)
    {
        if (kind == inline) return false;
        if (kind != inShared) throw new ChannelException($"a frame of kind {kind} where {inline} or {inShared} belongs");
        return shared is not null ? true : throw new ChannelException("a frame in shared memory that was never mapped");
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

    private static NamedTensor[]? Tensors(Stream stream, ChannelModel model, float[][] buffers, SharedSegment? shared, int direction, (int Slot, long Stamp) place)
    {
        if (shared is not null && !shared.Get(direction, place.Slot, place.Stamp, buffers)) return null;
        var tensors = new NamedTensor[model.Names.Length];
        for (int i = 0; i < tensors.Length; i++)
        {
            if (shared is null) stream.ReadExactly(MemoryMarshal.AsBytes(buffers[i].AsSpan()));
            tensors[i] = new NamedTensor(model.Names[i], new Tensor<float>(buffers[i], model.Shapes[i]));
        }
        return tensors;
    }
}
