using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace DistributedBackprop.Training;

/// <summary>
/// The project's instruments, all on one <see cref="Meter"/> named <see cref="MeterName"/>: what a run
/// counts, for dotnet-counters (which reads any Meter by name), OpenTelemetry's exporters and tests. Each is
/// recorded where its number already is — a step's log, the server's and the coordinator's state after a
/// rule, the data path's byte counts — and costs next to nothing while nobody listens.
/// </summary>
public static class TrainingMetrics
{
    public const string MeterName = "DistributedBackprop";
    public static readonly Meter Meter = new(MeterName, typeof(TrainingMetrics).Assembly.GetName().Version?.ToString());

    public static readonly Counter<long> Steps = Meter.CreateCounter<long>("dbp.steps", "{step}", "training steps applied");
    /// <summary>Buckets from 50 µs (a small regression step) to 10 s (a cluster step waiting out a lost worker).</summary>
    public static readonly Histogram<double> StepTime = Meter.CreateHistogram<double>("dbp.step.time", "s", "wall-clock time of a step, from the end of the one before",
        tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10] });
    public static readonly Counter<long> Samples = Meter.CreateCounter<long>("dbp.samples", "{sample}", "examples trained on");
    public static readonly Gauge<double> SamplesPerSecond = Meter.CreateGauge<double>("dbp.samples.rate", "{sample}/s", "examples per second over the last step");
    public static readonly Gauge<double> Loss = Meter.CreateGauge<double>("dbp.loss", null, "the training loss of the last step");
    public static readonly Counter<long> BytesMoved = Meter.CreateCounter<long>("dbp.data.bytes", "By", "bytes of tensors the data path moved between nodes");
    public static readonly Counter<long> StaleGradients = Meter.CreateCounter<long>("dbp.gradients.stale", "{gradient}", "gradients the server ignored for another step or version");
    public static readonly Counter<long> DuplicateGradients = Meter.CreateCounter<long>("dbp.gradients.duplicate", "{gradient}", "gradients the server already had");
    public static readonly Counter<long> RefusedGradients = Meter.CreateCounter<long>("dbp.gradients.refused", "{gradient}", "gradients the coordinator refused (not from a live worker of the run, or failed a check)");
    public static readonly Gauge<int> LiveWorkers = Meter.CreateGauge<int>("dbp.workers", "{worker}", "workers taking part in the run");
    public static readonly Gauge<long> ServerVersion = Meter.CreateGauge<long>("dbp.server.version", "{version}", "the parameter server's parameter version");

    /// <summary>
    /// Wraps <paramref name="onStep"/> so that every step is also counted and timed: <paramref name="samplesOf"/>
    /// gives a step's examples; its time is since the previous step (or since this call, for the first).
    /// </summary>
    public static Action<StepLog> Timed(Action<StepLog>? onStep, Func<long, int> samplesOf)
    {
        long last = Stopwatch.GetTimestamp();
        return log =>
        {
            long now = Stopwatch.GetTimestamp();
            double seconds = Stopwatch.GetElapsedTime(last, now).TotalSeconds;
            last = now;
            int samples = samplesOf(log.Step);
            Steps.Add(1);
            Samples.Add(samples);
            StepTime.Record(seconds);
            if (seconds > 0) SamplesPerSecond.Record(samples / seconds);
            if (double.IsFinite(log.Loss)) Loss.Record(log.Loss);
            onStep?.Invoke(log);
        };
    }

    /// <summary>Adds the growth of a running count: rules keep totals, instruments take increments.</summary>
    public static void Grew(Counter<long> counter, long before, long after)
    {
        if (after > before) counter.Add(after - before);
    }
}

/// <summary>An engine whose every step goes through <see cref="TrainingMetrics.Timed"/>.</summary>
public sealed class MeteredEngine(ITrainingEngine inner, TrainingSettings settings) : ITrainingEngine
{
    public ITrainingEngine Inner => inner;

    public TrainingState Run(TrainingState state, long until, Action<StepLog>? onStep = null) =>
        inner.Run(state, until, TrainingMetrics.Timed(onStep, settings.Batches.SizeOf));

    public int Workers => inner.Workers;

    public void AwaitWorkers() => inner.AwaitWorkers();

    public void Dispose() => inner.Dispose();
}
