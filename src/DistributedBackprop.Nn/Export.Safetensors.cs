using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DistributedBackprop.Core;

namespace DistributedBackprop.Nn;

/// <summary>
/// The safetensors format (Hugging Face's): an 8-byte little-endian header length, a JSON header naming each
/// tensor's dtype, shape and byte range (and a "__metadata__" map of strings), then the raw little-endian
/// bytes. Written with the tensors in name order, float32, the header padded with spaces to 8 bytes as the
/// reference writer pads it; read as untrusted input (F32, F64, F16 and BF16 tensors, each range inside the
/// file, no overlaps). Names are PyTorch's state_dict keys ("0.weight"), so
/// <c>model.load_state_dict(safetensors.torch.load_file(path))</c> loads an export into <c>nn.Sequential</c>.
/// </summary>
public static class Safetensors
{
    public const long MaxHeader = 100_000_000; // the reference reader's limit

    public static byte[] ToBytes(Parameters<float> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new JsonObject();
        if (metadata is { Count: > 0 }) header["__metadata__"] = new JsonObject(metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));
        long offset = 0;
        var ordered = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToArray();
        foreach (var (name, t) in ordered)
        {
            long bytes = (long)t.Length * sizeof(float);
            header[name] = new JsonObject
            {
                ["dtype"] = "F32",
                ["shape"] = new JsonArray([.. t.Dims.Select(d => (JsonNode)d)]),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8;
        var file = new byte[8 + padded + offset];
        BinaryPrimitives.WriteInt64LittleEndian(file, padded);
        json.CopyTo(file, 8);
        file.AsSpan(8 + json.Length, padded - json.Length).Fill((byte)' ');
        long at = 8 + padded;
        foreach (var (_, t) in ordered)
        {
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors are little-endian");
            MemoryMarshal.AsBytes(t.Data).CopyTo(file.AsSpan((int)at));
            at += (long)t.Length * sizeof(float);
        }
        return file;
    }

    public static void Save(string path, Parameters<float> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        AtomicFile.WriteAllBytes(path, ToBytes(tensors, metadata));

    /// <summary>Every tensor of a file as float32, by name, and its metadata.</summary>
    public static (Dictionary<string, Tensor<float>> Tensors, Dictionary<string, string> Metadata) Read(string path)
    {
        byte[] file;
        try { file = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CheckpointException($"{path}: cannot read ({e.Message})"); }
        return Parse(file, path);
    }

    public static (Dictionary<string, Tensor<float>> Tensors, Dictionary<string, string> Metadata) Parse(ReadOnlySpan<byte> file, string source)
    {
        if (file.Length < 8) throw Bad(source, "shorter than its 8-byte header length");
        long n = BinaryPrimitives.ReadInt64LittleEndian(file);
        if (n <= 0 || n > MaxHeader || n > file.Length - 8) throw Bad(source, $"a header of {n} bytes does not fit");
        if (!System.Text.Unicode.Utf8.IsValid(file.Slice(8, (int)n))) throw Bad(source, "the header is not UTF-8");
        JsonObject header;
        try { header = JsonNode.Parse(file.Slice(8, (int)n), documentOptions: new JsonDocumentOptions { MaxDepth = 8 }) as JsonObject ?? throw Bad(source, "the header is not a JSON object"); }
        catch (Exception e) when (e is JsonException or InvalidOperationException or DecoderFallbackException) { throw Bad(source, $"the header is not UTF-8 JSON ({e.Message})"); }
        var data = file[(8 + (int)n)..];
        var tensors = new Dictionary<string, Tensor<float>>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var ranges = new List<(long Begin, long End, string Name)>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                if (node is not JsonObject meta) throw Bad(source, "__metadata__ is not an object");
                foreach (var (k, v) in meta)
                    metadata[k] = v is JsonValue s && s.GetValueKind() == JsonValueKind.String ? s.GetValue<string>() : throw Bad(source, $"metadata '{k}' is not a string");
                continue;
            }
            if (node is not JsonObject t || t["dtype"] is not JsonValue dtypeNode || dtypeNode.GetValueKind() != JsonValueKind.String
                || t["shape"] is not JsonArray shapeNode || t["data_offsets"] is not JsonArray { Count: 2 } offsets)
                throw Bad(source, $"tensor '{name}' needs dtype, shape and data_offsets");
            string dtype = dtypeNode.GetValue<string>();
            int width = dtype switch { "F32" => 4, "F64" => 8, "F16" or "BF16" => 2, _ => throw Bad(source, $"tensor '{name}' is {dtype}; only floats (F32, F64, F16, BF16) are read") };
            if (shapeNode.Count > TensorCodec.MaxRank) throw Bad(source, $"tensor '{name}' has rank {shapeNode.Count}");
            var shape = shapeNode.Select(d => Whole(d, source, name)).Select(d => d <= int.MaxValue ? (int)d : throw Bad(source, $"tensor '{name}' is too large")).ToArray();
            long size;
            try { size = Shapes.Size(shape); }
            catch (ShapeException) { throw Bad(source, $"tensor '{name}' is too large"); }
            long begin = Whole(offsets[0], source, name), end = Whole(offsets[1], source, name);
            if (begin > end || end > data.Length || end - begin != size * width) throw Bad(source, $"tensor '{name}': bytes [{begin}, {end}) do not hold {size} {dtype} values inside the file");
            ranges.Add((begin, end, name));
            var raw = data[(int)begin..(int)end];
            var values = new float[size];
            for (int i = 0; i < size; i++)
                values[i] = dtype switch
                {
                    "F32" => BinaryPrimitives.ReadSingleLittleEndian(raw[(i * 4)..]),
                    "F64" => (float)BinaryPrimitives.ReadDoubleLittleEndian(raw[(i * 8)..]),
                    "F16" => (float)BinaryPrimitives.ReadHalfLittleEndian(raw[(i * 2)..]),
                    _ => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(raw[(i * 2)..]) << 16),
                };
            tensors[name] = new Tensor<float>(values, shape);
        }
        ranges.Sort();
        for (int i = 1; i < ranges.Count; i++)
            if (ranges[i].Begin < ranges[i - 1].End) throw Bad(source, $"tensors '{ranges[i - 1].Name}' and '{ranges[i].Name}' overlap");
        return (tensors, metadata);
    }

    /// <summary>
    /// The model's parameters from a file, in the model's order: every parameter must be there with its
    /// shape, and nothing else (PyTorch's strict load_state_dict).
    /// </summary>
    public static Parameters<float> LoadInto(Sequential model, string path)
    {
        var (tensors, _) = Read(path);
        var parameters = new List<(string, Tensor<float>)>();
        foreach (var p in model.Parameters)
        {
            if (!tensors.Remove(p.Name, out var t)) throw new CheckpointException($"{path}: no tensor '{p.Name}', which the model has (shape {Shapes.Format(p.Shape)})");
            if (!Shapes.Equal(t.Dims, p.Shape)) throw new CheckpointException($"{path}: tensor '{p.Name}' has shape {Shapes.Format(t.Dims)}; the model's is {Shapes.Format(p.Shape)}");
            if (!System.Numerics.Tensors.TensorPrimitives.IsFiniteAll<float>(t.Data)) throw new CheckpointException($"{path}: tensor '{p.Name}' has a value that is not finite");
            parameters.Add((p.Name, t));
        }
        if (tensors.Count > 0) throw new CheckpointException($"{path}: tensor '{tensors.Keys.Order(StringComparer.Ordinal).First()}' is not one of the model's ({string.Join(", ", model.Parameters.Select(p => p.Name))})");
        return new Parameters<float>(parameters);
    }

    private static long Whole(JsonNode? node, string source, string name) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var n) && n >= 0 ? n : throw Bad(source, $"tensor '{name}': shapes and offsets must be whole numbers");

    private static CheckpointException Bad(string source, string what) => new($"{source}: not a safetensors file: {what}");
}
