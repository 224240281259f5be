using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using DistributedBackprop.Core;
using MessagePack;

namespace DistributedBackprop.Nn;

/// <summary>A checkpoint that cannot be read: missing, truncated, damaged, or not ours.</summary>
public sealed class CheckpointException(string message) : Exception(message);

/// <summary>
/// Parameters, optimizer state and free-form training metadata (data cursor, settings) in one MessagePack
/// file: <c>["dbp-checkpoint", version, parameters, optimizer step, slots, meta, sha256]</c>, tensors as
/// [name, shape, raw little-endian float32 bytes] (<see cref="TensorCodec"/>), the last field the SHA-256 of
/// every byte before it, so a damaged file — one flipped bit in a weight — is refused rather than resumed
/// into another model. Written by <see cref="AtomicFile"/>, so a crash at any moment leaves the previous
/// checkpoint whole. Every byte read is untrusted.
/// </summary>
public sealed record Checkpoint(Parameters<float> Parameters, OptimizerState<float> Optimizer, IReadOnlyDictionary<string, string> Meta)
{
    private const string Magic = "dbp-checkpoint";
    // 2: the optimizer's kind is gone (nothing read it; the settings' fingerprint in the metadata covers it).
    // 3: a SHA-256 of the bytes before it ends the file.
    public const int FormatVersion = 3;
    private const int Fields = 7;

    public string MetaOr(string key, string fallback) => Meta.TryGetValue(key, out var v) ? v : fallback;
    public long MetaLong(string key) => Meta.TryGetValue(key, out var v) && long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
        ? n : throw new CheckpointException($"checkpoint has no number '{key}'");

    public byte[] ToBytes()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var w = new MessagePackWriter(buffer);
        w.WriteArrayHeader(Fields);
        w.Write(Magic);
        w.Write(FormatVersion);
        WriteTensors(ref w, Parameters);
        w.Write(Optimizer.Step);
        WriteTensors(ref w, Optimizer.Slots);
        w.WriteMapHeader(Meta.Count);
        foreach (var (k, v) in Meta.OrderBy(kv => kv.Key, StringComparer.Ordinal)) { w.Write(k); w.Write(v); }
        w.Flush();
        var w2 = new MessagePackWriter(buffer);
        w2.Write(SHA256.HashData(buffer.WrittenSpan));
        w2.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteTensors(ref MessagePackWriter w, Parameters<float> tensors)
    {
        w.WriteArrayHeader(tensors.Count);
        foreach (var (name, t) in tensors)
        {
            w.WriteArrayHeader(3);
            w.Write(name);
            TensorCodec.Write(ref w, t);
        }
    }

    public static Checkpoint FromBytes(ReadOnlyMemory<byte> bytes, string source)
    {
        try
        {
            var r = new MessagePackReader(bytes);
            int fields = r.NextMessagePackType == MessagePackType.Array ? r.ReadArrayHeader() : 0;
            if (fields < 2 || r.NextMessagePackType != MessagePackType.String || r.ReadString() != Magic)
                throw new CheckpointException($"{source}: not a dbp checkpoint");
            int version = r.ReadInt32();
            if (version != FormatVersion) throw new CheckpointException($"{source}: checkpoint format version {version}; this dbp reads version {FormatVersion}");
            if (fields != Fields) throw new CheckpointException($"{source}: damaged ({fields} fields, not {Fields})");
            var parameters = ReadTensors(ref r, source);
            long step = r.ReadInt64();
            var slots = ReadTensors(ref r, source);
            int metaCount = r.ReadMapHeader();
            var meta = new Dictionary<string, string>(StringComparer.Ordinal);
            for (int i = 0; i < metaCount; i++)
                meta[r.ReadString() ?? ""] = r.ReadString() ?? "";
            var covered = bytes.Span[..(int)r.Consumed];
            var checksum = r.ReadBytes() ?? throw new CheckpointException($"{source}: damaged (no checksum)");
            if (!r.End) throw new CheckpointException($"{source}: damaged (bytes after the end)");
            if (!checksum.ToArray().AsSpan().SequenceEqual(SHA256.HashData(covered)))
                throw new CheckpointException($"{source}: damaged (its SHA-256 checksum does not match its contents): refused; resume from another copy or start again");
            return new Checkpoint(parameters, new OptimizerState<float>(step, slots), meta);
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
            try { items.Add((name, TensorCodec.Read(ref r))); }
            catch (MessagePackSerializationException e) { throw new CheckpointException($"{source}: tensor {name}: {e.Message}"); }
        }
        return new Parameters<float>(items);
    }

    public void Save(string path) => AtomicFile.WriteAllBytes(path, ToBytes());

    public static Checkpoint Load(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CheckpointException($"{path}: cannot read ({e.Message})"); }
        return FromBytes(bytes, path);
    }
}
