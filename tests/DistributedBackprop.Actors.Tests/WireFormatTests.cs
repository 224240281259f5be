using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;
using DistributedBackprop.Actors;
using DistributedBackprop.Core;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors.Tests;

public class WireFormatTests : IDisposable
{
    private readonly ActorSystem _system = ActorSystems.CreateLocal("wire");
    public void Dispose() => _system.Dispose();

    private static NamedTensor[] Tensors() =>
    [
        new("0.weight", Tensor<float>.FromArray([1.5f, -2f, float.Epsilon, 3e38f, -0f, 7f], 2, 3)),
        new("0.bias", Tensor<float>.Vector(0.25f, -0.125f)),
        new("scalar", Tensor<float>.Scalar(42f)),
    ];

    public static IEnumerable<object[]> Messages() => new IDbpMessage[]
    {
        new ParameterUpdate(7, Tensors()),
        new ComputeShard(7, 3, 2, 2, 3, [5, 9, 1, 0]),
        new GradientShard(7, 3, 2, 2, 4, 1.25, Tensors()),
        new BeginStep(3, 4, 256),
        new StepApplied(3, 8, 0.5),
        new StepRefused(3, "NaN"),
        new WorkerReady("node-1"),
        new JobDescription(new TrainingJob(TrainingJob.Fashion, [256, 32], "relu", 0, 7, "/data/fashion")),
        new JobDescription(new TrainingJob(TrainingJob.CsvTask, [64], "relu", 0, 7, null, """{"layers":[{"type":"Linear","out_features":8},{"type":"Dropout","p":0.25},{"type":"Linear"}]}""",
            "huber", 0.5, new CsvSource("/data/train.csv", "kind", "classification", 0.1, null, new string('a', 64)))),
        new JobFailed("node-2", "no data"),
        GetState.Instance,
        new StateSnapshot(3, 4, Tensors(), 2, Tensors()),
        new SaveCheckpoint(3),
        new CheckpointSaved(3, "disk full"),
        GetCounters.Instance,
        new ServerCounters(1, 2, 3, 4),
        new TakeSnapshot(10), new DropSnapshot(0), new RollBack(10), new RolledBack(10, 31),
    }.Select(m => new object[] { m });

    [Fact]
    public void Every_message_type_is_covered_here() =>
        Assert.Equal(WireFormat.MessageTypes.OrderBy(t => t.Name), Messages().Select(m => m[0].GetType()).Distinct().OrderBy(t => t.Name));

    [Theory]
    [MemberData(nameof(Messages))]
    public void Messages_round_trip_through_the_serializer_akka_binds(IDbpMessage message)
    {
        var serializer = _system.Serialization.FindSerializerFor(message);
        Assert.IsType<WireFormat>(serializer);
        var bytes = serializer.ToBinary(message);
        var back = _system.Serialization.Deserialize(bytes, serializer.Identifier, Serialization.ManifestFor(serializer, message));
        Assert.Equal(Describe(message), Describe(back));
    }

    /// <summary>Records compare arrays by reference; compare their content instead.</summary>
    private static string Describe(object m) => m switch
    {
        ParameterUpdate p => $"PU {p.Version} {Describe(p.Parameters)}",
        GradientShard g => $"SG {g.Version} {g.Step} {g.Shard} {g.Shards} {g.Count} {g.LossSum:R} {Describe(g.Gradients)}",
        ComputeShard c => $"CS {c.Version} {c.Step} {c.Shard} {c.Shards} {c.MicroShard} {string.Join(",", c.Examples)}",
        JobDescription { Job: var j } => $"JD {j.Task} {string.Join(",", j.Hidden)} {j.Activation} {j.Samples} {j.Seed} {j.DataFolder} {j.Model} {j.Loss} {j.HuberDelta:R} {j.Csv}",
        StateSnapshot s => $"SS {s.Version} {s.Step} {Describe(s.Parameters)} {s.OptimizerStep} {Describe(s.Slots)}",
        _ => m.ToString()!,
    };

    private static string Describe(NamedTensor[] ts) => string.Join(";", ts.Select(t =>
        $"{t.Name}{Shapes.Format(t.Value.Shape)}:{string.Join(",", t.Value.ToArray().Select(BitConverter.SingleToInt32Bits))}"));

    [Fact]
    public void Tensors_travel_as_raw_bytes_not_element_by_element()
    {
        var big = new ParameterUpdate(1, [new NamedTensor("w", Tensor<float>.Zeros(256, 784))]);
        var bytes = new WireFormat((ExtendedActorSystem)_system).ToBinary(big);
        Assert.InRange(bytes.Length, 256 * 784 * 4, 256 * 784 * 4 + 64); // 4 bytes a float and a few for the framing
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void Every_truncation_is_a_serialization_error(IDbpMessage message)
    {
        var wire = new WireFormat((ExtendedActorSystem)_system);
        var bytes = wire.ToBinary(message);
        var manifest = wire.Manifest(message);
        for (int n = 0; n < bytes.Length; n += Math.Max(1, n / 4))
            Assert.Throws<SerializationException>(() => wire.FromBinary(bytes[..n], manifest));
    }

    [Fact]
    public void Random_bytes_are_refused_or_decoded_never_crash()
    {
        var wire = new WireFormat((ExtendedActorSystem)_system);
        var rng = new Rng(11);
        int refused = 0;
        foreach (var manifest in new[] { "PU", "CS", "SG", "BS", "SA", "SC" })
            for (int i = 0; i < 500; i++)
            {
                var junk = new byte[rng.NextInt(200)];
                for (int j = 0; j < junk.Length; j++) junk[j] = (byte)rng.NextInt(256);
                try { wire.FromBinary(junk, manifest); }
                catch (SerializationException) { refused++; }
            }
        Assert.True(refused > 2500, $"only {refused} of 3000 random messages were refused");
    }

    [Fact]
    public void A_huge_declared_length_is_refused_without_allocating_it()
    {
        var wire = new WireFormat((ExtendedActorSystem)_system);
        // [version, [[name, [[2147483647, 2147483647], bin32 of 4 GB]]]] — a header that lies about its size.
        byte[] lie = [0x92, 0x01, 0x91, 0x92, 0xA1, 0x77, 0x92, 0x92, 0xCE, 0x7F, 0xFF, 0xFF, 0xFF, 0xCE, 0x7F, 0xFF, 0xFF, 0xFF, 0xC6, 0xFF, 0xFF, 0xFF, 0xF0];
        Assert.Throws<SerializationException>(() => wire.FromBinary(lie, "PU"));
        Assert.Throws<SerializationException>(() => wire.FromBinary([0x01], "XX"));
    }
}
