using System.Buffers.Binary;
using System.Text;
using DistributedBackprop.Core;
using DistributedBackprop.Nn;
using Microsoft.ML.OnnxRuntime;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;

namespace DistributedBackprop.Nn.Tests;

public class ExportTests
{
    private static readonly Sequential Model = ModelSpec.Build(ModelSpec.Parse("linear:12,relu,dropout:0.3,linear:10,leaky-relu:0.05,layer-norm,gelu,linear:6,tanh,linear:6,sigmoid,linear"), 4, 3);

    /// <summary>Weights drawn with a larger spread than PyTorch's start, so every layer does something.</summary>
    private static Parameters<float> Weights(int seed) => Model.Init<float>(seed).Map((name, t) =>
    {
        var rng = new Rng(seed + name.Length);
        return Tensor<float>.FromArray(t.Data.ToArray().Select(v => v * 2 + (float)rng.Uniform(-0.2, 0.2)).ToArray(), [.. t.Shape]);
    });

    private static float[] Ours(Parameters<float> weights, float[] x, int rows)
    {
        var bindings = weights.ToBindings();
        var input = Expr.Variable("x", requiresGrad: false);
        bindings["x"] = Tensor<float>.FromArray(x, rows, 4);
        return Backprop.Evaluate(Model.Forward(input, training: false), bindings).Data.ToArray();
    }

    [Fact]
    public void Safetensors_round_trip_with_pytorchs_names_and_metadata()
    {
        var weights = Weights(1);
        var bytes = Safetensors.ToBytes(weights, new Dictionary<string, string> { ["format"] = "pt", ["model"] = ModelSpec.ToJson(Model) });
        long header = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        Assert.Equal(0, header % 8);
        var json = Encoding.UTF8.GetString(bytes, 8, (int)header);
        Assert.Contains("\"0.weight\":{\"dtype\":\"F32\",\"shape\":[12,4],\"data_offsets\":[", json);
        var (tensors, meta) = Safetensors.Parse(bytes, "m");
        Assert.Equal("pt", meta["format"]);
        foreach (var (name, t) in weights) Assert.Equal(t.Data.ToArray(), tensors[name].Data.ToArray());
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, bytes);
            Assert.Equal(weights.Hash(), Safetensors.LoadInto(Model, path).Hash());
            var other = ModelSpec.Build(ModelSpec.Parse("linear:12"), 4, 12); // its 0.weight and 0.bias are in the file, with others
            Assert.Contains("tensor '0.weight'", Assert.Throws<CheckpointException>(() => Safetensors.LoadInto(ModelSpec.Build(ModelSpec.Parse("linear:13,relu,linear"), 4, 3), path)).Message);
            Assert.Contains("is not one of the model's", Assert.Throws<CheckpointException>(() => Safetensors.LoadInto(other, path)).Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Float64_and_half_precision_tensors_are_read_as_float32()
    {
        // {"a": F64 [2], "b": F16 [1], "c": BF16 [1]}, as safetensors.torch.save_file writes them.
        var json = """{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"b":{"dtype":"F16","shape":[1],"data_offsets":[16,18]},"c":{"dtype":"BF16","shape":[1],"data_offsets":[18,20]}}""";
        var header = Encoding.UTF8.GetBytes(json);
        var file = new byte[8 + header.Length + 20];
        BinaryPrimitives.WriteInt64LittleEndian(file, header.Length);
        header.CopyTo(file, 8);
        var data = file.AsSpan(8 + header.Length);
        BinaryPrimitives.WriteDoubleLittleEndian(data, 1.5);
        BinaryPrimitives.WriteDoubleLittleEndian(data[8..], -0.25);
        BinaryPrimitives.WriteHalfLittleEndian(data[16..], (Half)3);
        BinaryPrimitives.WriteUInt16LittleEndian(data[18..], (ushort)(BitConverter.SingleToInt32Bits(-2f) >> 16));
        var (t, _) = Safetensors.Parse(file, "f");
        Assert.Equal([1.5f, -0.25f], t["a"].Data.ToArray());
        Assert.Equal(3f, t["b"].Data[0]);
        Assert.Equal(-2f, t["c"].Data[0]);
    }

    [Fact]
    public void Damaged_safetensors_are_refused_with_one_line()
    {
        var good = Safetensors.ToBytes(Weights(2));
        var rng = new Rng(3);
        int refused = 0;
        for (int i = 0; i < 300; i++)
        {
            var bytes = (byte[])good.Clone();
            int at = rng.NextInt(Math.Min(bytes.Length, 400));
            bytes[at] = (byte)rng.NextInt(256);
            try { Safetensors.Parse(bytes, "x"); }
            catch (CheckpointException e) { refused++; Assert.DoesNotContain('\n', e.Message); }
        }
        Assert.True(refused > 100, $"{refused} of 300 damaged headers were refused");
        for (int n = 0; n < 64; n++) Assert.Throws<CheckpointException>(() => Safetensors.Parse(good.AsSpan(0, n), "x"));
        var overlap = """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""";
        var file = new byte[8 + overlap.Length + 8];
        BinaryPrimitives.WriteInt64LittleEndian(file, overlap.Length);
        Encoding.UTF8.GetBytes(overlap).CopyTo(file, 8);
        Assert.Contains("overlap", Assert.Throws<CheckpointException>(() => Safetensors.Parse(file, "x")).Message);
    }

    [Fact]
    public void Onnx_runtime_runs_the_export_and_agrees_with_the_engine()
    {
        var weights = Weights(4);
        const int rows = 9;
        var rng = new Rng(5);
        var raw = Enumerable.Range(0, rows * 4).Select(_ => rng.Uniform(-50, 50)).ToArray();
        double[] mean = [1, -2, 3.5, 0], std = [10, 20, 5, 30];
        var x = raw.Select((v, i) => (float)((v - mean[i % 4]) / std[i % 4])).ToArray();
        var expected = Ours(weights, x, rows);

        var onnx = Onnx.ToBytes(Model, weights, mean, std, Onnx.Probabilities.Softmax);
        using var session = new InferenceSession(onnx);
        var input = new DenseTensor(raw.Select(v => (float)v).ToArray(), [rows, 4]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", input)]);
        var output = results.Single(r => r.Name == "output").AsEnumerable<float>().ToArray();
        var probabilities = results.Single(r => r.Name == "probabilities").AsEnumerable<float>().ToArray();
        Assert.Equal(expected.Length, output.Length);
        Assert.True(expected.Select(v => Math.Abs(v)).Max() > 0.5, "the model's outputs are too small to tell anything");
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - output[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected[i])), $"output {i}: {expected[i]} vs {output[i]}");
        for (int r = 0; r < rows; r++)
        {
            var row = expected.AsSpan(r * 3, 3).ToArray();
            double max = row.Max(), sum = row.Sum(v => Math.Exp(v - max));
            for (int k = 0; k < 3; k++) Assert.Equal(Math.Exp(row[k] - max) / sum, probabilities[r * 3 + k], 5);
        }
    }
}
