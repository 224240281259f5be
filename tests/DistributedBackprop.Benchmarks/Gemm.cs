using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using DistributedBackprop.Core;

namespace DistributedBackprop.Benchmarks;

/// <summary>A matrix product <c>C[m,n] = op(A)[m,k] op(B)[k,n]</c>, named after where the Fashion step does it.</summary>
public sealed record GemmShape(string Name, bool TransA, bool TransB, int M, int N, int K)
{
    public double Flops => 2.0 * M * N * K;
    public override string ToString() => Name;
}

/// <summary><see cref="Blas.Gemm{T}"/> in float for the first layer's products of a Fashion step, with a GFLOPS column.</summary>
[MemoryDiagnoser]
[BenchmarkCategory("gemm")]
[Config(typeof(GflopsConfig))]
public class Gemm
{
    public static IEnumerable<GemmShape> Shapes() =>
    [
        // x[64,784] W[256,784]ᵀ: the first layer's forward at batch 64.
        new("fwd m64 n256 k784", TransA: false, TransB: true, M: 64, N: 256, K: 784),
        // dY[64,256]ᵀ x[64,784]: its weight gradient.
        new("dW m256 n784 k64", TransA: true, TransB: false, M: 256, N: 784, K: 64),
        // The same two at a micro-shard of 128 rows (batch 256 over two shards).
        new("fwd m128 n256 k784", TransA: false, TransB: true, M: 128, N: 256, K: 784),
        new("dW m256 n784 k128", TransA: true, TransB: false, M: 256, N: 784, K: 128),
    ];

    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = null!;

    private float[] _a = [], _b = [], _c = [];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(1);
        _a = Random(rng, Shape.M * Shape.K);
        _b = Random(rng, Shape.K * Shape.N);
        _c = new float[Shape.M * Shape.N];
    }

    private static float[] Random(Rng rng, int n)
    {
        var data = new float[n];
        for (int i = 0; i < n; i++) data[i] = (float)rng.Uniform(-1, 1);
        return data;
    }

    [Benchmark]
    public float Sgemm()
    {
        Blas.Gemm<float>(Shape.TransA, Shape.TransB, Shape.M, Shape.N, Shape.K, _a, _b, _c);
        return _c[0];
    }
}

public sealed class GflopsConfig : ManualConfig
{
    public GflopsConfig() => AddColumn(new GflopsColumn());
}

/// <summary>2·m·n·k over the mean time: billions of floating-point operations per second.</summary>
public sealed class GflopsColumn : IColumn
{
    public string Id => nameof(GflopsColumn);
    public string ColumnName => "GFLOPS";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "2*m*n*k / mean time in ns";

    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        if (stats is null || benchmarkCase.Parameters["Shape"] is not GemmShape shape) return "-";
        return (shape.Flops / stats.Mean).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
    }
}
