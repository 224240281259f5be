using Akka.Actor;
using Akka.Serialization;
using DistributedBackprop.Core;
using DistributedBackprop.Nn;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;
using SerializationException = System.Runtime.Serialization.SerializationException;

namespace DistributedBackprop.Actors;

/// <summary>
/// Akka's serializer for <see cref="IDbpMessage"/>: MessagePack with short constant manifests, tensors as raw
/// little-endian bytes (one block copy, not element by element), every incoming byte treated as untrusted
/// (<see cref="MessagePackSecurity.UntrustedData"/>, no typeless or contractless resolvers). Bound in
/// <c>hocon/base.hocon</c>. Bytes that do not decode raise <see cref="SerializationException"/>.
/// </summary>
public sealed class WireFormat(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int Id = 4711;
    public override int Identifier => Id;

    private static readonly Dictionary<Type, string> Manifests = new()
    {
        [typeof(ParameterUpdate)] = "PU",
        [typeof(ComputeShard)] = "CS",
        [typeof(GradientShard)] = "SG",
        [typeof(BeginStep)] = "BS",
        [typeof(StepApplied)] = "SA",
        [typeof(StepRefused)] = "SR",
        [typeof(WorkerReady)] = "WR",
        [typeof(JobDescription)] = "JD",
        [typeof(JobFailed)] = "JF",
        [typeof(GetState)] = "GS",
        [typeof(StateSnapshot)] = "SS",
        [typeof(SaveCheckpoint)] = "SC",
        [typeof(CheckpointSaved)] = "CK",
        [typeof(GetCounters)] = "GC",
        [typeof(ServerCounters)] = "CO",
        [typeof(TakeSnapshot)] = "TS",
        [typeof(DropSnapshot)] = "DS",
        [typeof(RollBack)] = "RB",
        [typeof(RolledBack)] = "RD",
    };
    private static readonly Dictionary<string, Type> Types = Manifests.ToDictionary(kv => kv.Value, kv => kv.Key);

    public static readonly MessagePackSerializerOptions Options = MessagePackSerializerOptions.Standard
        .WithResolver(CompositeResolver.Create([TensorFormatter.Instance], [StandardResolver.Instance]))
        .WithSecurity(MessagePackSecurity.UntrustedData);

    public static IReadOnlyCollection<Type> MessageTypes => Manifests.Keys;

    public override string Manifest(object o) => Manifests.TryGetValue(o.GetType(), out var m)
        ? m : throw new ArgumentException($"{o.GetType().Name} is not a dbp message");

    public override byte[] ToBinary(object obj) => MessagePackSerializer.Serialize(obj.GetType(), obj, Options);

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!Types.TryGetValue(manifest, out var type)) throw new SerializationException($"unknown dbp message manifest '{manifest}'");
        try
        {
            return MessagePackSerializer.Deserialize(type, bytes, Options)
                ?? throw new SerializationException($"{type.Name}: empty message");
        }
        catch (Exception e) when (e is MessagePackSerializationException or EndOfStreamException or InvalidOperationException or OverflowException or ArgumentException or ShapeException)
        {
            throw new SerializationException($"{type.Name}: {e.GetBaseException().Message}");
        }
    }
}

/// <summary>A <see cref="Tensor{T}"/> of float as [shape, bytes], through the checkpoint's <see cref="TensorCodec"/>.</summary>
public sealed class TensorFormatter : IMessagePackFormatter<Tensor<float>?>
{
    public static readonly TensorFormatter Instance = new();

    public void Serialize(ref MessagePackWriter writer, Tensor<float>? value, MessagePackSerializerOptions options)
    {
        if (value is null) { writer.WriteNil(); return; }
        writer.WriteArrayHeader(2);
        TensorCodec.Write(ref writer, value);
    }

    public Tensor<float>? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil()) return null;
        if (reader.ReadArrayHeader() != 2) throw new MessagePackSerializationException("a tensor is [shape, bytes]");
        return TensorCodec.Read(ref reader);
    }
}
