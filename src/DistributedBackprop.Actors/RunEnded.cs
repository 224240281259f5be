using Akka.Actor;
using Akka.Serialization;
using MessagePack;
using SerializationException = System.Runtime.Serialization.SerializationException;

namespace DistributedBackprop.Actors;

/// <summary>
/// Parameter-server node → each worker node's <see cref="WorkerHost"/>, at the end of the run: whether it
/// succeeded, and if not, why (one line). The host answers with the same message, so the server knows
/// it arrived. A worker node exits 0 only after a successful run; a node lifecycle message, not part of
/// the training protocol, so it has its own small serializer (<see cref="RunEndedFormat"/>).
/// </summary>
[MessagePackObject]
public sealed record RunEnded([property: Key(0)] bool Succeeded, [property: Key(1)] string? Reason)
{
    public const int MaxReason = 1000;
}

/// <summary>MessagePack for <see cref="RunEnded"/>, every byte untrusted; bound in <c>hocon/base.hocon</c>.</summary>
public sealed class RunEndedFormat(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public override int Identifier => 4712;

    public override string Manifest(object o) => o is RunEnded ? "RE" : throw new ArgumentException($"{o.GetType().Name} is not RunEnded");

    public override byte[] ToBinary(object obj) => MessagePackSerializer.Serialize((RunEnded)obj, WireFormat.Options);

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (manifest != "RE") throw new SerializationException($"unknown node message manifest '{manifest}'");
        try
        {
            var m = MessagePackSerializer.Deserialize<RunEnded>(bytes, WireFormat.Options) ?? throw new SerializationException("RunEnded: empty");
            return m.Reason is { Length: > RunEnded.MaxReason } r ? m with { Reason = r[..RunEnded.MaxReason] } : m;
        }
        catch (Exception e) when (e is MessagePackSerializationException or EndOfStreamException or InvalidOperationException)
        {
            throw new SerializationException($"RunEnded: {e.GetBaseException().Message}");
        }
    }
}
