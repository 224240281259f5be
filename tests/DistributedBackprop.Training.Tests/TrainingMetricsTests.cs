using System.Diagnostics.Metrics;
using DistributedBackprop.Training;

namespace DistributedBackprop.Training.Tests;

/// <summary>The meter a run reports on: a step logged through <see cref="TrainingMetrics.Timed"/> is counted, timed and its loss kept.</summary>
public sealed class TrainingMetricsTests
{
    [Fact]
    public void Each_logged_step_counts_its_samples_records_a_time_and_passes_the_log_on()
    {
        var seen = new List<(string Name, double Value)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) => { if (instrument.Meter.Name == TrainingMetrics.MeterName) l.EnableMeasurementEvents(instrument); };
        listener.SetMeasurementEventCallback<long>((i, v, _, _) => { lock (seen) seen.Add((i.Name, v)); });
        listener.SetMeasurementEventCallback<double>((i, v, _, _) => { lock (seen) seen.Add((i.Name, v)); });
        listener.Start();

        var passed = new List<long>();
        var onStep = TrainingMetrics.Timed(log => passed.Add(log.Step), step => step == 1 ? 3 : 8);
        onStep(new StepLog(0, 0, 0.5));
        onStep(new StepLog(1, 0, 0.25));

        Assert.Equal([0L, 1L], passed);
        lock (seen)
        {
            // Other tests may train at the same time: count only what these two steps recorded.
            Assert.Contains(("dbp.samples", 8.0), seen);
            Assert.Contains(("dbp.samples", 3.0), seen);
            Assert.Contains(("dbp.loss", 0.25), seen);
            Assert.True(seen.Count(m => m.Name == "dbp.step.time") >= 2);
            Assert.All(seen.Where(m => m.Name == "dbp.step.time"), m => Assert.True(m.Value >= 0));
        }
    }

    [Fact]
    public void A_running_total_adds_only_its_growth()
    {
        long added = 0;
        var counter = TrainingMetrics.Meter.CreateCounter<long>("dbp.test.grew");
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) => { if (instrument == counter) l.EnableMeasurementEvents(instrument); };
        listener.SetMeasurementEventCallback<long>((_, v, _, _) => Interlocked.Add(ref added, v));
        listener.Start();
        TrainingMetrics.Grew(counter, 4, 7);
        TrainingMetrics.Grew(counter, 7, 7);
        Assert.Equal(3, added);
    }
}
