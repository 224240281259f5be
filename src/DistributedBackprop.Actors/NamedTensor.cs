using DistributedBackprop.Core;
using DistributedBackprop.Nn;
using MessagePack;

namespace DistributedBackprop.Actors;

/// <summary>A tensor with its parameter name; on the wire, its shape and raw little-endian float32 bytes.</summary>
[MessagePackObject]
public sealed record NamedTensor([property: Key(0)] string Name, [property: Key(1)] Tensor<float> Value)
{
    public static NamedTensor[] From(Parameters<float> parameters) => parameters.Select(p => new NamedTensor(p.Name, p.Value)).ToArray();
    public static Parameters<float> ToParameters(IEnumerable<NamedTensor> tensors) => new(tensors.Select(t => (t.Name, t.Value)));
}
