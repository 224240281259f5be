using System.Text.Json;
using DistributedBackprop.Core;
using DistributedBackprop.Nn;

namespace DistributedBackprop.Nn.Tests;

/// <summary>Values PyTorch recorded (Reference/torch_nn_reference.py).</summary>
internal static class Reference
{
    public static readonly JsonElement Root = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Reference", "torch_nn_reference.json"))).RootElement;

    public static Tensor<double> Tensor(JsonElement e) => Tensor<double>.FromArray(
        e.GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray(),
        e.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray());

    public static Parameters<double> Named(JsonElement e) => new(e.EnumerateObject().Select(p => (p.Name, Tensor(p.Value))));

    public static void AssertClose(Tensor<double> expected, Tensor<double> actual, double relative, string what)
    {
        Assert.Equal(expected.Shape.ToArray(), actual.Shape.ToArray());
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected.Data[i], a = actual.Data[i];
            Assert.True(Math.Abs(e - a) <= relative * Math.Max(Math.Abs(e), 1e-300) || Math.Abs(e - a) < 1e-15, $"{what}[{i}]: expected {e:R}, got {a:R}");
        }
    }
}
