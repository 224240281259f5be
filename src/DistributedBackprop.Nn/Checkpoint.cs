using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using DistributedBackprop.Core;
using MessagePack;

namespace DistributedBackprop.Nn;

/// <summary>A checkpoint that cannot be read: missing, truncated, damaged, or not ours.</summary>
public sealed class CheckpointException(string message) : Exception(message);

/// <summary>
/// Parameters, optimizer state and free-form training metadata (step, data cursor, RNG state, settings) in one
/// MessagePack file: <c>["dbp-checkpoint", version, parameters, optimizer kind, optimizer step, slots, meta]</c>,
/// tensors as [name, shape, raw little-endian float32 bytes]. Written to a temporary file, flushed, then
/// renamed, so a crash at any moment leaves the previous checkpoint whole. Every byte read is untrusted.
/// </summary>
public sealed record Checkpoint(Parameters<float> Parameters, string OptimizerKind, OptimizerState<float> Optimizer, IReadOnlyDictionary<string, string> Meta)
{
    private const string Magic = "dbp-checkpoint";
    public const int FormatVersion = 1;

    public string MetaOr(string key, string fallback) => Meta.TryGetValue(key, out var v) ? v : fallback;
    public long MetaLong(string key) => Meta.TryGetValue(key, out var v) && long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
        ? n : throw new CheckpointException($"checkpoint has no number '{key}'");

    public byte[] ToBytes()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var w = new MessagePackWriter(buffer);
        w.WriteArrayHeader(7);
        w.Write(Magic);
        w.Write(FormatVersion);
        WriteTensors(ref w, Parameters);
        w.Write(OptimizerKind);
        w.Write(Optimizer.Step);
        WriteTensors(ref w, Optimizer.Slots);
        w.WriteMapHeader(Meta.Count);
        foreach (var (k, v) in Meta.OrderBy(kv => kv.Key, StringComparer.Ordinal)) { w.Write(k); w.Write(v); }
        w.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteTensors(ref MessagePackWriter w, Parameters<float> tensors)
    {
        w.WriteArrayHeader(tensors.Count);
        foreach (var (name, t) in tensors)
        {
            w.WriteArrayHeader(3);
            w.Write(name);
            w.WriteArrayHeader(t.Rank);
            foreach (var d in t.Dims) w.Write(d);
            w.Write(MemoryMarshal.AsBytes(t.Data));
        }
    }

    public static Checkpoint FromBytes(ReadOnlyMemory<byte> bytes, string source)
    {
        try
        {
            var r = new MessagePackReader(bytes);
            if (r.NextMessagePackType != MessagePackType.Array || r.ReadArrayHeader() != 7 || r.NextMessagePackType != MessagePackType.String || r.ReadString() != Magic)
                throw new CheckpointException($"{source}: not a dbp checkpoint");
            int version = r.ReadInt32();
            if (version != FormatVersion) throw new CheckpointException($"{source}: checkpoint format version {version}; this dbp reads version {FormatVersion}");
            var parameters = ReadTensors(ref r, source);
            var kind = r.ReadString() ?? throw new CheckpointException($"{source}: damaged (no optimizer kind)");
            long step = r.ReadInt64();
            var slots = ReadTensors(ref r, source);
            int metaCount = r.ReadMapHeader();
            var meta = new Dictionary<string, string>(StringComparer.Ordinal);
            for (int i = 0; i < metaCount; i++)
                meta[r.ReadString() ?? ""] = r.ReadString() ?? "";
            if (!r.End) throw new CheckpointException($"{source}: damaged (bytes after the end)");
            return new Checkpoint(parameters, kind, new OptimizerState<float>(step, slots), meta);
        }
        catch (Exception e) when (e is MessagePackSerializationException or EndOfStreamException or InvalidOperationException or OverflowException or ArgumentException)
        {
            throw new CheckpointException($"{source}: truncated or damaged checkpoint ({e.Message.TrimEnd('.')})");
        }
    }

    private static Parameters<float> ReadTensors(ref MessagePackReader r, string source)
    {
        int count = r.ReadArrayHeader();
        var items = new List<(string, Tensor<float>)>(Math.Min(count, 1024));
        for (int i = 0; i < count; i++)
        {
            if (r.ReadArrayHeader() != 3) throw new CheckpointException($"{source}: damaged tensor entry");
            var name = r.ReadString() ?? throw new CheckpointException($"{source}: tensor without a name");
            int rank = r.ReadArrayHeader();
            if (rank > 8) throw new CheckpointException($"{source}: tensor {name} has rank {rank}");
            var shape = new int[rank];
            for (int d = 0; d < rank; d++) shape[d] = r.ReadInt32();
            var data = r.ReadBytes() ?? throw new CheckpointException($"{source}: tensor {name} has no data");
            long expected;
            try { expected = (long)Shapes.Size(shape) * sizeof(float); }
            catch (ShapeException e) { throw new CheckpointException($"{source}: tensor {name}: {e.Message}"); }
            if (data.Length != expected) throw new CheckpointException($"{source}: tensor {name} has {data.Length} bytes, its shape {Shapes.Format(shape)} needs {expected}");
            var values = new float[expected / sizeof(float)];
            data.CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
            items.Add((name, new Tensor<float>(values, shape)));
        }
        return new Parameters<float>(items);
    }

    public void Save(string path)
    {
        var full = Path.GetFullPath(path);
        var temp = full + $".{Environment.ProcessId}.tmp";
        try
        {
            using (var f = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                f.Write(ToBytes());
                f.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    public static Checkpoint Load(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CheckpointException($"{path}: cannot read ({e.Message})"); }
        return FromBytes(bytes, path);
    }
}
