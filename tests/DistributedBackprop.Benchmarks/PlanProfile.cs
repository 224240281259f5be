using System.Diagnostics;
using System.Globalization;
using DistributedBackprop.Core;
using DistributedBackprop.Data;
using DistributedBackprop.Training;

namespace DistributedBackprop.Benchmarks;

/// <summary>
/// Where a shard's time goes: the gradient plan a worker runs (compiled as <see cref="ShardGradient"/> compiles
/// it), op by op, slowest first, from <see cref="Plan{T}.Profile"/>.
/// </summary>
public static class PlanProfile
{
    private sealed record Case(string Title, Plan<float> Plan, Dictionary<string, Tensor<float>> Bindings, int Runs);

    /// <summary>
    /// A fresh process runs unoptimised code until tiered compilation has replaced it, which takes seconds
    /// here (the regression's tanh ran 20-50 times slower in its first second): all plans run this long first.
    /// </summary>
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(3);

    public static void Print(TextWriter output)
    {
        output.WriteLine($"BLAS: {Blas.Provider}{(Blas.FallbackReason is { } why ? $" ({why})" : "")}");
        Case[] cases =
        [
            Compile("regression, micro-shard 64", Workloads.Regression(64), runs: 2000),
            Compile("regression, micro-shard 200", Workloads.Regression(200), runs: 2000),
            Compile("fashion, micro-shard 64", Workloads.Fashion(64, 64), runs: 200),
            Compile("fashion, micro-shard 128", Workloads.Fashion(256, 128), runs: 200),
        ];
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Warmup)
            foreach (var c in cases) c.Plan.Run(c.Bindings);
        foreach (var c in cases) Print(output, c);
    }

    private static Case Compile(string title, (TrainingSettings Settings, Dataset Data) workload, int runs)
    {
        var (settings, data) = workload;
        var objective = settings.Objective;
        var (x, y) = data.Gather(settings.Batches.For(0).AsSpan(0, settings.MicroShard));
        var bindings = new Dictionary<string, Tensor<float>>(StringComparer.Ordinal)
        {
            [objective.X.Name] = x,
            [objective.Y.Name] = y,
        };
        foreach (var (name, value) in objective.Model.Init<float>(settings.Seed)) bindings[name] = value;
        var shapes = bindings.ToDictionary(kv => kv.Key, kv => kv.Value.Shape.ToArray());
        var parameters = objective.Model.Parameters.Select(p => p.Variable).ToArray();
        return new Case(title, Backprop.CompileGradients<float>(objective.LossSum(objective.Prediction), parameters, shapes), bindings, runs);
    }

    private static void Print(TextWriter output, Case c)
    {
        var steps = c.Plan.Profile(c.Bindings, c.Runs).OrderByDescending(s => s.Microseconds).ToList();
        double total = steps.Sum(s => s.Microseconds);
        output.WriteLine();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{c.Title}: {c.Plan.StepCount} ops, {total:F1} µs per run (mean of {c.Runs})"));
        output.WriteLine($"{"op",-28} {"shape",-14} {"µs",10} {"share",7}");
        foreach (var (op, shape, us) in steps)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{op,-28} {shape,-14} {us,10:F2} {us / total,7:P1}"));
    }
}
