using System.Buffers;
using System.Runtime.InteropServices;
using DistributedBackprop.Core;
using MessagePack;

namespace DistributedBackprop.Nn;

/// <summary>
/// A float tensor in MessagePack as two values, its shape and its raw little-endian bytes (one block copy, not
/// element by element): the one codec of the wire format and the checkpoint, so both check a shape, a rank
/// and a byte count the same way. Every byte read is untrusted: a bad tensor raises
/// <see cref="MessagePackSerializationException"/> with the reason.
/// </summary>
public static class TensorCodec
{
    public const int MaxRank = 8;

    public static void Write(ref MessagePackWriter writer, Tensor<float> value)
    {
        writer.WriteArrayHeader(value.Rank);
        foreach (var d in value.Dims) writer.Write(d);
        writer.Write(MemoryMarshal.AsBytes(value.Data));
    }

    public static Tensor<float> Read(ref MessagePackReader reader)
    {
        int rank = reader.ReadArrayHeader();
        if (rank > MaxRank) throw new MessagePackSerializationException($"tensor rank {rank} is over {MaxRank}");
        var shape = new int[rank];
        for (int i = 0; i < rank; i++) shape[i] = reader.ReadInt32();
        long expected;
        try { expected = (long)Shapes.Size(shape) * sizeof(float); }
        catch (ShapeException e) { throw new MessagePackSerializationException(e.Message); }
        var bytes = reader.ReadBytes() ?? throw new MessagePackSerializationException("tensor without data");
        if (bytes.Length != expected)
            throw new MessagePackSerializationException($"tensor of shape {Shapes.Format(shape)} needs {expected} bytes, got {bytes.Length}");
        var data = new float[expected / sizeof(float)];
        bytes.CopyTo(MemoryMarshal.AsBytes(data.AsSpan()));
        return new Tensor<float>(data, shape);
    }
}
