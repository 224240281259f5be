using DistributedBackprop.Actors;
using DistributedBackprop.Data;
using DistributedBackprop.Training;

namespace DistributedBackprop.Cli;

/// <summary>
/// A <c>dbp train</c> command line, read and checked: the job and its settings, its data, where it starts,
/// the engine flags (null for the defaults) and how it reports. <c>dbp train</c> runs it in this process;
/// <c>dbp node</c> runs the same request over a cluster.
/// </summary>
public sealed record TrainRequest(
    TrainingJob Job, TrainingSettings Settings, Dataset Train, Dataset? Test, CheckpointPolicy? Checkpoint, TrainingState Start,
    int? Workers, int? Threads, bool Json, long LogEvery, string? Plot)
{
    /// <summary>What the held-out split <see cref="Test"/> is called in the output: "test" or "validation".</summary>
    public string HeldName { get; init; } = "test";

    /// <summary>Where --metrics writes a row per step (.csv or .jsonl), or null.</summary>
    public string? Metrics { get; init; }

    /// <summary>The fault harness and the audit, for worker actors.</summary>
    public Harness Harness { get; init; } = Harness.None;

    /// <summary>Trains with the engine chosen, printing what the task prints; <paramref name="choice"/> defaults to this process.</summary>
    public int Run(TextWriter output, EngineChoice? choice = null)
    {
        // Ctrl-C ends the process at once; before it does, say where the run got to and how it goes on.
        ConsoleCancelEventHandler hint = (_, _) => Console.Error.WriteLine($"\ndbp: {ResumeHint(Checkpoint, Settings, Environment.GetCommandLineArgs()[1..])}");
        Console.CancelKeyPress += hint;
        try { return RunEngine(output, choice); }
        finally { Console.CancelKeyPress -= hint; }
    }

    /// <summary>What a stopped run has kept and the command that goes on from it.</summary>
    public static string ResumeHint(CheckpointPolicy? checkpoint, TrainingSettings settings, IReadOnlyList<string> args)
    {
        if (checkpoint is null) return "stopped; nothing was kept (train with --checkpoint DIR to be able to go on with --resume)";
        TrainingState? saved;
        try { saved = checkpoint.Load(settings); }
        catch (Nn.CheckpointException) { saved = null; }
        var again = string.Join(' ', args.Select(a => a.Contains(' ') ? $"\"{a}\"" : a)) + (args.Contains("--resume") ? "" : " --resume");
        return saved is null
            ? $"stopped before the first checkpoint; start again with: dbp {string.Join(' ', args)}"
            : $"stopped; {checkpoint.File} holds the state before step {saved.Step}: go on with: dbp {again}";
    }

    private int RunEngine(TextWriter output, EngineChoice? choice)
    {
        choice ??= Engines.InProcess(Settings, Workers);
        choice = choice switch
        {
            EngineChoice.PlainLoop when Harness.Chaos is not null || Harness.Audit > 0 =>
                throw new UsageException("--chaos and --audit act on worker actors: add --workers 2 or more"),
            EngineChoice.LocalActors l => l with { Faults = Harness.Chaos, Audit = Harness.Audit, ResendAfter = Harness.ResendAfter },
            EngineChoice.Cluster when Harness.Chaos is not null => throw new UsageException("--chaos runs in one process (dbp train), not on a cluster"),
            EngineChoice.Cluster c => c with { Audit = Harness.Audit, ResendAfter = Harness.ResendAfter },
            _ => choice,
        };
        Engines.UseThreads(choice, Threads);
        using var engine = new MeteredEngine(Engines.Create(choice, Settings, Train, Checkpoint), Settings);
        var curves = new Curves(HeldName);
        switch (Job.Task)
        {
            case TrainingJob.Regression:
                var result = RegressionJob.Run(Settings, engine, Start, LogEvery, Json, output);
                curves.Steps.AddRange(result.History.Select(h => new Curves.Step(h.Step, h.Epoch, h.Loss)));
                if (Plot is string path)
                {
                    curves.Plot(path, RegressionJob.FitPlot(Settings, Train, result.Final.Parameters));
                    if (!Json) output.WriteLine($"wrote {path}");
                }
                break;
            case TrainingJob.Fashion or TrainingJob.CsvTask:
                EpochJob.Run(Settings, engine, Train, Test, HeldName, Start, Json, output, curves, trainAccuracy: Plot is not null || Metrics is not null);
                if (Plot is string picture)
                {
                    curves.Plot(picture);
                    if (!Json) output.WriteLine($"wrote {picture}");
                }
                break;
            default:
                throw new System.Diagnostics.UnreachableException();
        }
        if (Metrics is string metrics)
        {
            curves.WriteMetrics(metrics);
            if (!Json) output.WriteLine($"wrote {metrics}");
        }
        return 0;
    }
}

/// <summary>The fault harness's plan, the audit fraction and the resend time, as the flags gave them.</summary>
public sealed record Harness(ChaosPlan? Chaos, double Audit, TimeSpan? ResendAfter)
{
    public static readonly Harness None = new(null, 0, null);
}
