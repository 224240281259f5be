using System.CommandLine;
using System.Globalization;
using DistributedBackprop.Actors;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;

namespace DistributedBackprop.Cli;

/// <summary>The flags every <c>dbp train</c> task shares, and their checks.</summary>
public sealed class TrainOptions
{
    public readonly Option<string> Optimizer = new("--optimizer") { Description = "sgd, momentum, nesterov, adam, adamw or rmsprop", DefaultValueFactory = _ => "sgd" };
    public readonly Option<double> Momentum = new("--momentum") { Description = "momentum for momentum and nesterov (and rmsprop, where given)", DefaultValueFactory = _ => 0.9 };
    public readonly Option<double> WeightDecay = new("--weight-decay") { Description = "L2 weight decay", DefaultValueFactory = _ => 0.0 };
    public readonly Option<string> Schedule = new("--lr-schedule") { Description = "constant; cosine (anneals to 0 over the run); step (--lr-step-size, --lr-gamma); warmup-cosine (--warmup-steps, then cosine)", DefaultValueFactory = _ => "constant" };
    /// <summary>The model, loss, optimizer details, schedule, clipping, --init and --metrics flags.</summary>
    public readonly ModelOptions Model = new();

    public TrainOptions()
    {
        Optimizer.AcceptOnlyFromAmong(ModelOptions.OptimizerNames);
        Schedule.AcceptOnlyFromAmong(ModelOptions.ScheduleNames);
    }
    public readonly Option<int?> MicroShard = new("--micro-shard") { Description = $"examples per micro-shard, the unit of work whose gradients are summed in order: results depend on it, not on --workers (default: the whole batch for regression, {TrainCommand.FashionMicroShard} for fashion-mnist, 64 for csv)" };
    public readonly Option<int> Seed = new("--seed") { Description = "seed for the data, its order and the initial weights", DefaultValueFactory = _ => 0 };
    public readonly Option<bool> Json = new("--json") { Description = "machine-readable JSON lines instead of the table" };
    public readonly Option<string?> Checkpoint = new("--checkpoint") { Description = "folder for checkpoint.dbp (parameters, optimizer state, data cursor), replaced atomically" };
    public readonly Option<long> CheckpointEvery = new("--checkpoint-every") { Description = "write the checkpoint every this many steps (and at the end)", DefaultValueFactory = _ => 100 };
    public readonly Option<bool> Resume = new("--resume") { Description = "continue from the checkpoint in --checkpoint, if there is one" };
    public readonly Option<int?> Workers = new("--workers") { Description = "worker actors in this process (0: the plain loop); the result does not depend on it (default: one per core where a batch has several micro-shards, else the plain loop)" };
    public readonly Option<int?> Threads = new("--threads") { Description = "threads that share one large matrix product; the result does not depend on it (default: the cores left to each worker actor, all of them for the plain loop)" };

    public readonly Option<string?> Chaos = new("--chaos") { Description = "the fault harness, for worker actors: a plan such as 'stop worker 1 at step 10; drop shard 2 of step 3; corrupt worker 2 from step 20 x1000' (see the README)" };
    public readonly Option<double> Audit = new("--audit") { Description = "the fraction (0 to 1) of each step's work that a second worker computes again, compared bit for bit; a worker that differs from two others is excluded", DefaultValueFactory = _ => 0 };
    public readonly Option<int> Staleness = new("--staleness") { Description = $"S, 0 to {TrainingSettings.MaxStaleness}: step t's gradients are computed with the parameters from before step t - S, so the workers compute the next step while the server applies this one; the result depends on S, not on the workers or nodes", DefaultValueFactory = _ => 0 };
    public readonly Option<double?> ResendAfter = new("--resend-after") { Description = "seconds a step waits for lost work before it sends it again (default 5)" };

    public void AddTo(Command command)
    {
        foreach (var o in (Option[])[Workers, Threads, Optimizer, Momentum, WeightDecay, Schedule, MicroShard, Seed, Json, Checkpoint, CheckpointEvery, Resume, .. Model.All, Chaos, Audit, Staleness, ResendAfter])
            command.Options.Add(o);
    }

    /// <summary>--chaos, --audit and --resend-after, checked: how the worker actors are tested and watched.</summary>
    public Harness HarnessFlags(ParseResult r)
    {
        double audit = r.GetValue(Audit);
        if (!(audit is >= 0 and <= 1)) throw new UsageException($"--audit must be from 0 to 1, not {audit.ToString(CultureInfo.InvariantCulture)}");
        TimeSpan? resend = r.GetValue(ResendAfter) is { } seconds
            ? seconds is >= 0.01 and <= 3600 ? TimeSpan.FromSeconds(seconds) : throw new UsageException($"--resend-after must be from 0.01 to 3600 seconds, not {seconds.ToString(CultureInfo.InvariantCulture)}")
            : null;
        ChaosPlan? chaos;
        try { chaos = r.GetValue(Chaos) is { } text ? ChaosPlan.Parse(text) : null; }
        catch (ChaosPlanException e) { throw new UsageException(e.Message); }
        return new Harness(chaos, audit, resend);
    }

    /// <summary>
    /// --staleness, checked: what it cannot go with yet. A checkpoint, and an audit's replay, hold one version
    /// of the parameters, where the steps after them need S older ones; and with staleness a gradient is sent
    /// again only while its step is the one computed, so a chaos plan may not drop one.
    /// </summary>
    public int StalenessOf(ParseResult r)
    {
        int staleness = r.GetValue(Staleness);
        if (staleness is < 0 or > TrainingSettings.MaxStaleness) throw new UsageException($"--staleness must be from 0 to {TrainingSettings.MaxStaleness}, not {staleness}");
        if (staleness == 0) return 0;
        if (r.GetValue(Audit) > 0) throw new UsageException("--staleness and --audit do not go together yet: an audit's replay goes back to one version of the parameters, and the steps after it need S older ones");
        if (r.GetValue(Checkpoint) is not null) throw new UsageException("--staleness and --checkpoint do not go together yet: a checkpoint holds one version of the parameters, and the steps after it need S older ones");
        if (HarnessFlags(r).Chaos?.DropsGradients == true) throw new UsageException("--staleness and a --chaos plan that drops gradients do not go together: a gradient is sent again only while its step is the one computed");
        return staleness;
    }

    /// <summary>Each thread past the first is a helper thread for the life of the process: a bound on a typo.</summary>
    private const int MaxThreads = 64;

    /// <summary>--workers and --threads, checked; null where the engine's default is to be used.</summary>
    public (int? Workers, int? Threads) EngineFlags(ParseResult r)
    {
        if (r.GetValue(Workers) is { } w) Require(JobLimits.Count("--workers", w, JobLimits.MaxWorkers, min: 0));
        if (r.GetValue(Threads) is { } t && t is < 1 or > MaxThreads) throw new UsageException($"--threads must be from 1 to {MaxThreads}, not {t}");
        return (r.GetValue(Workers), r.GetValue(Threads));
    }

    /// <summary>The checkpoint policy and the state to start from (a resumed one, or a fresh one).</summary>
    public (CheckpointPolicy? Policy, TrainingState Start) Checkpointing(ParseResult r, TrainingSettings settings)
    {
        var folder = r.GetValue(Checkpoint);
        if (folder is null)
        {
            if (r.GetValue(Resume)) throw new UsageException("--resume needs --checkpoint DIR");
            return (null, Start(r, settings));
        }
        Positive("--checkpoint-every", r.GetValue(CheckpointEvery));
        try { Directory.CreateDirectory(folder); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new IOException($"cannot create checkpoint folder {folder}: {e.Message}"); }
        var policy = new CheckpointPolicy(folder, r.GetValue(CheckpointEvery));
        AtomicFile.CheckTarget(policy.File);
        if (!r.GetValue(Resume) && File.Exists(policy.File))
            throw new UsageException($"{policy.File} exists: pass --resume to continue from it, or choose another --checkpoint folder");
        return (policy, (r.GetValue(Resume) ? policy.Load(settings) : null) ?? Start(r, settings));
    }

    /// <summary>The first state: the model's seeded initialisation, or the weights of --init.</summary>
    private TrainingState Start(ParseResult r, TrainingSettings settings) =>
        r.GetValue(Model.Init) is string path ? TrainingState.From(settings, Safetensors.LoadInto(settings.Objective.Model, path)) : TrainingState.Start(settings);

    public static Optimizer MakeOptimizer(string kind, double lr, double momentum, double weightDecay)
    {
        Positive("--lr", lr);
        if (!double.IsFinite(momentum) || momentum < 0 || momentum >= 1) throw new UsageException($"--momentum must be in [0, 1), not {momentum}");
        if (!double.IsFinite(weightDecay) || weightDecay < 0) throw new UsageException($"--weight-decay must be 0 or more, not {weightDecay}");
        return kind switch
        {
            "sgd" => new Sgd(lr, WeightDecay: weightDecay),
            "momentum" => new Sgd(lr, momentum, WeightDecay: weightDecay),
            "nesterov" => new Sgd(lr, momentum, Nesterov: true, WeightDecay: weightDecay),
            "adam" => new Adam(lr, WeightDecay: weightDecay),
            "adamw" => new AdamW(lr, WeightDecay: weightDecay),
            "rmsprop" => new RMSprop(lr, WeightDecay: weightDecay),
            _ => throw new UsageException($"--optimizer: unknown '{kind}' ({string.Join(", ", ModelOptions.OptimizerNames)})"),
        };
    }

    /// <summary>--micro-shard, or this task's default.</summary>
    public int MicroShardOr(ParseResult r, int fallback)
    {
        int size = r.GetValue(MicroShard) ?? fallback;
        Require(JobLimits.Count("--micro-shard", size, JobLimits.MaxMicroShard));
        return size;
    }

    /// <summary>The optimizer the flags ask for, its schedule spread over <paramref name="steps"/>.</summary>
    public Optimizer MakeOptimizer(ParseResult r, double lr, long steps) => Model.Optimizer(r, this, lr, steps);

    /// <summary>A limit's verdict (<see cref="JobLimits"/>): null passes, a reason is the one-line error.</summary>
    public static void Require(string? problem)
    {
        if (problem is not null) throw new UsageException(problem);
    }

    /// <summary>
    /// The memory a training needs against what this process may use, before any of it is allocated:
    /// <paramref name="workers"/> as given (null: the engine's default, one per core where a batch has
    /// several micro-shards).
    /// </summary>
    public static void Fits(int inputs, int[] hidden, int outputs, Optimizer optimizer, int? workers, int batch, int microShard, long dataBytes)
    {
        int engines = workers ?? (batch > microShard ? Environment.ProcessorCount : 0);
        int slots = optimizer.SlotNames.Count; // momentum 1; Adam, AdamW and RMSprop with momentum 2
        double needed = JobLimits.MemoryNeeded(JobLimits.Parameters(inputs, hidden, outputs), slots, engines, Math.Min(batch, microShard), inputs, hidden, outputs, dataBytes);
        Require(JobLimits.Memory(needed, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes));
    }

    public static void Positive(string flag, double value)
    {
        if (!double.IsFinite(value) || value <= 0) throw new UsageException($"{flag} must be a positive number, not {value.ToString(CultureInfo.InvariantCulture)}");
    }

    public static void Positive(string flag, long value)
    {
        if (value <= 0) throw new UsageException($"{flag} must be positive, not {value}");
    }

    /// <summary>"32,32" as layer widths.</summary>
    public static int[] Widths(string flag, string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var widths = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out widths[i]) || widths[i] <= 0)
                throw new UsageException($"{flag}: '{parts[i]}' is not a positive whole number (e.g. {flag} 32,32)");
        return widths;
    }
}
