using System.Globalization;
using DistributedBackprop.Core;

namespace DistributedBackprop.Cli.Demo;

/// <summary>Prints values the way the notebook's PyTorch does.</summary>
public static class Torch
{
    public static string Show(Tensor<float> t, string? gradFn = null, bool requiresGrad = false)
    {
        var text = t.ToString();
        if (gradFn is not null) return text[..^1] + $", grad_fn=<{gradFn}>)";
        return requiresGrad ? text[..^1] + ", requires_grad=True)" : text;
    }

    public static string F4(double v) => v.ToString("F4", CultureInfo.InvariantCulture);

    public static Dictionary<string, Tensor<float>> At(params (string Name, float Value)[] values) =>
        values.ToDictionary(v => v.Name, v => Tensor<float>.Vector(v.Value));
}
