using BenchmarkDotNet.Attributes;
using DistributedBackprop.Training;

namespace DistributedBackprop.Benchmarks;

/// <summary>
/// One training step through <see cref="Trainer.Run"/>, always from the same starting state so every
/// invocation does the same work. <c>Run</c> copies the incoming parameters (and allocates the mean-gradient
/// buffers) once per call, which a long run pays once: <c>OneStep</c> includes that cost,
/// <c>Steps100</c> spreads it over 100 steps and is the honest per-step time. Its allocation still carries a
/// hundredth of the copy; a step's own is (100 · Steps100 − OneStep) / 99.
/// </summary>
[MemoryDiagnoser]
public abstract class TrainingStep
{
    private Trainer _trainer = null!;
    private TrainingState _start = null!;

    protected abstract (TrainingSettings Settings, Data.Dataset Data) Workload();

    [GlobalSetup]
    public void Setup()
    {
        var (settings, data) = Workload();
        _trainer = new Trainer(settings, data);
        _start = TrainingState.Start(settings);
        // Compiles the plans for every micro-shard size the steps use.
        _trainer.Run(_start, _start.Step + 100);
    }

    [Benchmark]
    public TrainingState OneStep() => _trainer.Run(_start, _start.Step + 1);

    [Benchmark(OperationsPerInvoke = 100)]
    public TrainingState Steps100() => _trainer.Run(_start, _start.Step + 100);
}

[BenchmarkCategory("training", "regression")]
public class RegressionStep : TrainingStep
{
    [Params(64, 200)]
    public int MicroShard { get; set; }

    protected override (TrainingSettings, Data.Dataset) Workload() => Workloads.Regression(MicroShard);
}

[BenchmarkCategory("training", "fashion")]
public class FashionStep : TrainingStep
{
    /// <summary>Batch 64 in one shard (the command line's default), and batch 256 cut in two shards of 128 (the distributed setting).</summary>
    public static IEnumerable<FashionShape> Shapes() => [new(64, 64), new(256, 128)];

    [ParamsSource(nameof(Shapes))]
    public FashionShape Shape { get; set; } = null!;

    protected override (TrainingSettings, Data.Dataset) Workload() => Workloads.Fashion(Shape.Batch, Shape.MicroShard);
}

public sealed record FashionShape(int Batch, int MicroShard)
{
    public override string ToString() => $"batch {Batch} shard {MicroShard}";
}
