using System.Collections.Immutable;
using DistributedBackprop.Data;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors;

/// <summary>What does not change during a run: its settings, where it stops, its checkpoint, its patience.</summary>
/// <param name="Settings">What decides the run's numbers.</param>
/// <param name="Until">The step the run stops before.</param>
/// <param name="Checkpoint">Where and how often the server writes the run's checkpoint, if it does.</param>
/// <param name="WaitForWorkers">A cluster waits for workers to (re)join when none is left; in one process the run fails.</param>
/// <param name="ResendAfter">A step with no progress for this long has its unfinished shards sent again.</param>
/// <param name="MaxResends">Resends of one step before the run gives up.</param>
/// <param name="Audit">The fraction of steps (chosen by <see cref="GradientChecks.Audited"/>) whose every node is computed by a second worker and compared bit for bit.</param>
/// <param name="SnapshotEvery">With an audit, the server keeps the state every this many steps, for going back when a worker is excluded (<see cref="Replay"/>).</param>
public sealed record StepPlan(TrainingSettings Settings, long Until, CheckpointPolicy? Checkpoint, bool WaitForWorkers, TimeSpan ResendAfter, int MaxResends = 20, double Audit = 0,
    int SnapshotEvery = Replay.DefaultSnapshotEvery)
{
    public static readonly TimeSpan DefaultResendAfter = TimeSpan.FromSeconds(5);

    /// <summary>S (<see cref="TrainingSettings.Staleness"/>): the coordinator begins a step once the one before it has all its gradients and the parameters from before it - S are here.</summary>
    public int Staleness => Settings.Staleness;
}

/// <summary>
/// The coordinator's state: the step in flight — its examples, the nodes of its shard tree that are its
/// units of work (one a worker; see <see cref="ShardTree.Partition"/>), who has each, which have passed to
/// the server, how often each was sent — the live workers in the order they joined, and the newest
/// parameters (what a joining worker is sent first). Work is keyed by the node's place in
/// <see cref="Nodes"/>; <see cref="Given"/> is every worker a node was sent to this step (any of them may
/// answer), <see cref="Suspects"/> the worker whose non-finite gradient for a node awaits a second opinion.
/// Workers excluded for what they sent stay out of the run; <see cref="Refused"/> counts what was refused.
/// <see cref="Opinions"/> holds, for each audited node, the gradients received so far and who sent them.
/// <typeparamref name="W"/> names a worker: an actor reference in the actor, a string in the tests.
/// </summary>
public sealed record StepState<W>(
    StepPlan Plan,
    long Step,
    int[] Batch,
    ShardNode[] Nodes,
    ImmutableDictionary<int, W> Assigned,
    ImmutableHashSet<int> Finished,
    ImmutableDictionary<int, int> Attempts,
    ImmutableList<W> Workers,
    int Next,
    int Resends,
    bool Begun,
    ParameterUpdate Latest,
    bool Done,
    ImmutableDictionary<int, ImmutableHashSet<W>> Given,
    ImmutableDictionary<int, W> Suspects,
    ImmutableHashSet<W> Excluded,
    long Refused,
    ImmutableDictionary<int, ImmutableList<(W Worker, GradientShard Gradient)>> Opinions) where W : notnull
{
    public static StepState<W> Start(StepPlan plan, long step, ParameterUpdate latest) =>
        new(plan, step, [], [], ImmutableDictionary<int, W>.Empty, [], ImmutableDictionary<int, int>.Empty, [], 0, 0, false, latest, false,
            ImmutableDictionary<int, ImmutableHashSet<W>>.Empty, ImmutableDictionary<int, W>.Empty, [], 0,
            ImmutableDictionary<int, ImmutableList<(W, GradientShard)>>.Empty)
        { Origin = step, ServerStep = step, Versions = ImmutableSortedDictionary<long, ParameterUpdate>.Empty.Add(step, latest) };

    public bool InFlight => Nodes.Length > 0;

    /// <summary>The run's first step: its first snapshot.</summary>
    public long Origin { get; init; }

    /// <summary>For each live worker, the first step in which a gradient of its went to the server unchecked (<see cref="Replay"/>).</summary>
    public ImmutableDictionary<W, long> Unverified { get; init; } = ImmutableDictionary<W, long>.Empty;

    /// <summary>The steps before which the server holds a snapshot.</summary>
    public ImmutableSortedSet<long> Snapshots { get; init; } = [];

    /// <summary>Set while this event is handled when a worker with unchecked gradients was excluded: the step to go back before, and who.</summary>
    public (long Step, W Worker)? Rewind { get; init; }

    /// <summary>The snapshot the server was asked to go back to, until it says it has; what the old steps send meanwhile is void.</summary>
    public long? RollingBack { get; init; }

    /// <summary>What the next step's log says about the replay it begins.</summary>
    public StepReplay? Replayed { get; init; }

    /// <summary>With staleness: the step the server applies next (the steps from it to <see cref="Step"/> have all their gradients here).</summary>
    public long ServerStep { get; init; }

    /// <summary>With staleness: the parameters from before each of the server's last S + 1 steps, by step.</summary>
    public ImmutableSortedDictionary<long, ParameterUpdate> Versions { get; init; } = ImmutableSortedDictionary<long, ParameterUpdate>.Empty;

    /// <summary>With staleness: what goes to the server once it has reached the step (its begin and gradients), in order.</summary>
    public ImmutableList<(long Step, StepSend<W> Send)> Held { get; init; } = [];

    /// <summary>The parameters the step in flight is computed with: the newest, or with staleness S those from before step - S.</summary>
    public ParameterUpdate Parameters => Plan.Staleness == 0 ? Latest : Versions.GetValueOrDefault(Math.Max(Origin, Step - Plan.Staleness))!;

    /// <summary>Whether the parameters the step needs are here yet (with staleness, the server may still be S steps behind).</summary>
    public bool ParametersReady => Plan.Staleness == 0 || Versions.ContainsKey(Math.Max(Origin, Step - Plan.Staleness));

    /// <summary>The place in <see cref="Nodes"/> of the node starting at micro-shard <paramref name="first"/> with <paramref name="count"/> shards, or -1.</summary>
    public int NodeOf(int first, int count) => Array.IndexOf(Nodes, new ShardNode(first, count));
}

/// <summary>What the coordinator hears: from the run's start, its workers, the server, and its own timer.</summary>
public abstract record StepEvent<W> where W : notnull
{
    private StepEvent() { }
    public sealed record Started : StepEvent<W>;
    public sealed record Joined(IReadOnlyList<W> Workers) : StepEvent<W>;
    public sealed record Lost(W Worker) : StepEvent<W>;
    public sealed record GradientPassed(W From, GradientShard Gradient) : StepEvent<W>;
    public sealed record Updated(ParameterUpdate Update) : StepEvent<W>;
    public sealed record Applied(StepApplied Step) : StepEvent<W>;
    public sealed record CheckpointWritten(CheckpointSaved Saved) : StepEvent<W>;
    public sealed record Refused(StepRefused Refusal) : StepEvent<W>;
    public sealed record Snapshot(StateSnapshot State) : StepEvent<W>;
    public sealed record ResendDue(long Step) : StepEvent<W>;
    public sealed record RolledBack(Actors.RolledBack Reply) : StepEvent<W>;
}

/// <summary>What the coordinator does, in order.</summary>
public abstract record StepSend<W> where W : notnull
{
    private StepSend() { }
    /// <summary>A node's work for a worker: its <paramref name="Attempt"/>-th sending this step (from 0).</summary>
    public sealed record Compute(W Worker, ComputeShard Shard, int Attempt) : StepSend<W>;
    public sealed record Update(W Worker, ParameterUpdate Parameters) : StepSend<W>;
    /// <summary>A worker's gradient for the step in flight, passed to the server; <paramref name="Attempt"/> is its node's latest sending.</summary>
    public sealed record Pass(GradientShard Gradient, int Attempt) : StepSend<W>;
    public sealed record ToServer(IDbpMessage Message) : StepSend<W>;
    public sealed record Watch(W Worker) : StepSend<W>;
    public sealed record Unwatch(W Worker) : StepSend<W>;
    public sealed record ScheduleResend(long Step, TimeSpan After) : StepSend<W>;
    public sealed record Log(StepLog Entry) : StepSend<W>;
    public sealed record Finish(RunOutcome Outcome) : StepSend<W>;
    /// <summary>The fault harness's (<see cref="FaultInjection{W}"/>): the rule never sends these.</summary>
    public sealed record Later(TimeSpan By, StepSend<W> Send) : StepSend<W>;
    public sealed record Stop(W Worker) : StepSend<W>;
    /// <summary>A gradient no one reads again (an audit's other opinion): its buffers may go back to the pool they came from.</summary>
    public sealed record Release(GradientShard Gradient) : StepSend<W>;
    /// <summary>The worker sent what no worker of this run may send: it is out of the run, and the reason is logged.</summary>
    public sealed record Exclude(W Worker, string Reason) : StepSend<W>;
}

/// <summary>What a coordinator reports when its run ends: the state reached, or why it stopped.</summary>
public sealed record RunOutcome(TrainingState? State, Exception? Error);

/// <summary>
/// The coordinator's rule as a pure function: given its state and an event, the new state and what to send.
/// For each step it tells the server how many micro-shards the minibatch has, cuts the shard tree into one
/// node per live worker and hands them out round-robin, passes the workers' gradients (one a node) to the
/// server and the server's updates to the workers. A worker lost mid-step has its unfinished nodes handed to
/// the others in the same step; a step with no progress for <see cref="StepPlan.ResendAfter"/> has every node
/// the server may lack sent again (the server ignores duplicates). A run ends at <see cref="StepPlan.Until"/>,
/// on a refused step, or when it gives up.
/// </summary>
public static partial class StepRules
{
    public static (StepState<W> State, IReadOnlyList<StepSend<W>> Sends) Handle<W>(StepState<W> s, StepEvent<W> e) where W : notnull
    {
        if (s.Done) return (s, []);
        // Going back: what the abandoned steps still send is void; the workers and the server are still heard.
        if (s.RollingBack is not null && e is not (StepEvent<W>.Joined or StepEvent<W>.Lost or StepEvent<W>.Updated or StepEvent<W>.Refused or StepEvent<W>.RolledBack))
            return (s, []);
        var sends = new List<StepSend<W>>();
        var next = e switch
        {
            StepEvent<W>.Started => Started(s, sends),
            StepEvent<W>.Joined j => Join(s, j.Workers, sends),
            StepEvent<W>.Lost l => Lose(s, l.Worker, sends),
            StepEvent<W>.GradientPassed g => Gradient(s, g.From, g.Gradient, sends),
            StepEvent<W>.Updated u => Updated(s, u.Update, sends),
            StepEvent<W>.Applied a => Applied(s, a.Step, sends),
            StepEvent<W>.CheckpointWritten { Saved.Error: string error } =>
                Finish(s, new RunOutcome(null, new IOException($"checkpoint {s.Plan.Checkpoint?.File}: {error}")), sends),
            StepEvent<W>.CheckpointWritten => StartOrFinish(s, sends),
            StepEvent<W>.Refused r => Finish(s, new RunOutcome(null,
                new TrainingDivergedException(r.Refusal.Step, r.Refusal.Reason.Replace($"step {r.Refusal.Step}: ", ""))), sends),
            StepEvent<W>.Snapshot snap => Finish(s, new RunOutcome(State(snap.State), null), sends),
            StepEvent<W>.ResendDue r when r.Step == s.Step && s.InFlight => Resend(s, sends),
            StepEvent<W>.ResendDue => s,
            StepEvent<W>.RolledBack r => RolledBack(s, r.Reply, sends),
            _ => throw new System.Diagnostics.UnreachableException(),
        };
        if (next.Rewind is var (step, worker) && !next.Done) next = GoBack(next with { Rewind = null }, step, worker, sends);
        if (next.RollingBack is not null) sends.RemoveAll(x => x is StepSend<W>.Compute or StepSend<W>.Pass or StepSend<W>.ScheduleResend);
        return (next, sends);
    }

    private static StepState<W> Started<W>(StepState<W> s, List<StepSend<W>> sends) where W : notnull
    {
        if (s.Step >= s.Plan.Until) sends.Add(new StepSend<W>.ToServer(GetState.Instance));
        return s;
    }

    /// <summary>New workers get the latest parameters, then shards: the first step's, or any left without a worker.</summary>
    private static StepState<W> Join<W>(StepState<W> s, IReadOnlyList<W> workers, List<StepSend<W>> sends) where W : notnull
    {
        foreach (var worker in workers.Where(w => !s.Workers.Contains(w) && !s.Excluded.Contains(w)).Distinct())
        {
            sends.Add(new StepSend<W>.Watch(worker));
            if (s.Plan.Staleness > 0) foreach (var version in s.Versions.Values) sends.Add(new StepSend<W>.Update(worker, version)); // any may be the one it computes with
            if (s.Plan.Staleness == 0 || s.Versions.Values.LastOrDefault()?.Version != s.Latest.Version) sends.Add(new StepSend<W>.Update(worker, s.Latest));
            s = s with { Workers = s.Workers.Add(worker) };
        }
        if (s.Workers.Count == 0 || s.Step >= s.Plan.Until) return s;
        if (!s.Begun) return StartStep(s with { Begun = true }, sends);
        if (!s.InFlight) return s; // with staleness: waiting for its parameters
        foreach (var node in Enumerable.Range(0, s.Nodes.Length).Where(i => !s.Assigned.ContainsKey(i)).ToList())
            s = Assign(s, node, sends);
        return s;
    }

    private static StepState<W> StartStep<W>(StepState<W> s, List<StepSend<W>> sends) where W : notnull
    {
        var settings = s.Plan.Settings;
        var batch = settings.Batches.For(s.Step);
        int shards = Batches.MicroShards(batch.Length, settings.MicroShard).Length;
        var nodes = ShardTree.Partition(shards, s.Workers.Count);
        s = Snapshot(s, sends);
        s = s with
        {
            Batch = batch, Nodes = nodes, Assigned = s.Assigned.Clear(), Finished = s.Finished.Clear(), Attempts = s.Attempts.Clear(), Resends = 0,
            Given = s.Given.Clear(), Suspects = s.Suspects.Clear(), Opinions = s.Opinions.Clear(),
        };
        s = ToServer(s, s.Step, new StepSend<W>.ToServer(new BeginStep(s.Step, shards, batch.Length)), sends);
        for (int i = 0; i < nodes.Length; i++) s = Assign(s, i, sends);
        sends.Add(new StepSend<W>.ScheduleResend(s.Step, s.Plan.ResendAfter));
        return s;
    }

    /// <summary>
    /// Sends a node's work to the next live worker, round-robin (past <paramref name="avoid"/> where there is
    /// another); with none, the node waits for one.
    /// </summary>
    private static StepState<W> Assign<W>(StepState<W> s, int node, List<StepSend<W>> sends, W? avoid = default) where W : notnull =>
        Assign(s, node, sends, avoid is null ? [] : [avoid]);

    /// <summary>The same, past every worker in <paramref name="avoid"/> where another is live.</summary>
    private static StepState<W> Assign<W>(StepState<W> s, int node, List<StepSend<W>> sends, IReadOnlyCollection<W> avoid) where W : notnull
    {
        if (s.Workers.Count == 0) return s with { Assigned = s.Assigned.Remove(node) };
        for (int tries = 0; tries < s.Workers.Count - 1 && avoid.Contains(s.Workers[s.Next % s.Workers.Count]); tries++) s = s with { Next = s.Next + 1 };
        var worker = s.Workers[s.Next % s.Workers.Count];
        int attempt = s.Attempts.GetValueOrDefault(node);
        int micro = s.Plan.Settings.MicroShard;
        var (first, count) = (s.Nodes[node].First, s.Nodes[node].Count);
        int start = first * micro, end = Math.Min(s.Batch.Length, (first + count) * micro);
        var work = new ComputeShard(s.Parameters.Version, s.Step, first, count, micro, s.Batch[start..end]);
        sends.Add(new StepSend<W>.Compute(worker, work, attempt));
        var given = s.Given.GetValueOrDefault(node, []).Add(worker);
        return s with { Next = s.Next + 1, Assigned = s.Assigned.SetItem(node, worker), Attempts = s.Attempts.SetItem(node, attempt + 1), Given = s.Given.SetItem(node, given) };
    }

    /// <summary>
    /// A worker's gradient. From anyone but a live worker of the run, it is refused. Another step's (a late
    /// answer) goes to the server, which counts it as stale. For this step, it must be for a node the worker
    /// was given, of that node's example count and of the model's tensors, else the worker is excluded. A
    /// non-finite one is computed again by another worker: only if that agrees does it reach the server (which
    /// stops the run as divergence); if not, the first worker was wrong and is excluded.
    /// </summary>
    private static StepState<W> Gradient<W>(StepState<W> s, W from, GradientShard g, List<StepSend<W>> sends) where W : notnull
    {
        if (!s.Workers.Contains(from)) return s with { Refused = s.Refused + 1 };
        if (g.Step != s.Step || !s.InFlight || g.Version != s.Parameters.Version)
        {
            sends.Add(new StepSend<W>.ToServer(g));
            return s;
        }
        int node = s.NodeOf(g.Shard, g.Shards);
        if (node < 0 || !s.Given.GetValueOrDefault(node, []).Contains(from))
            return Exclude(s, from, $"it sent a gradient of micro-shards [{g.Shard}, {g.Shard + g.Shards}) of step {g.Step}, which it was not given", sends);
        if (GradientChecks.Problem(g, Examples(s, node), s.Plan.Settings.Objective) is string problem)
            return Exclude(s, from, problem, sends);
        if (s.Plan.Audit > 0 && s.Workers.Count > 1 && GradientChecks.Audited(s.Plan.Settings.Seed, g.Step, s.Plan.Audit))
            return Audit(s, from, g, node, sends);
        bool finite = GradientChecks.Finite(g);
        bool suspected = s.Suspects.TryGetValue(node, out var suspect);
        if (!finite && !suspected)
            return Assign(s with { Suspects = s.Suspects.SetItem(node, from) }, node, sends, avoid: from); // a second opinion
        if (!finite && suspect!.Equals(from) && s.Workers.Count > 1) return s; // the same worker again: still waiting for another
        if (finite && suspected && !suspect!.Equals(from))
            s = Exclude(s with { Suspects = s.Suspects.Remove(node) }, suspect, $"its gradient for micro-shards [{g.Shard}, {g.Shard + g.Shards}) of step {g.Step} was not finite; another worker's was", sends);
        if (s.Done || s.Finished.Contains(node) && !finite) return s;
        s = ToServer(s, s.Step, new StepSend<W>.Pass(g, s.Attempts.GetValueOrDefault(node) - 1), sends);
        s = s with { Finished = s.Finished.Add(node), Unverified = s.Unverified.ContainsKey(from) ? s.Unverified : s.Unverified.Add(from, s.Step) }; // no one checked it
        return s.Plan.Staleness > 0 && s.Finished.Count == s.Nodes.Length ? Ahead(s, sends) : s;
    }

    /// <summary>
    /// An audited node: computed by two workers, whose results must be the same bits. Agreeing, it goes to the
    /// server (a non-finite one too: two workers agree, so the run has diverged). Disagreeing, a third worker
    /// decides and the one that differs from it is excluded; with no third worker to ask, the run stops.
    /// </summary>
    private static StepState<W> Audit<W>(StepState<W> s, W from, GradientShard g, int node, List<StepSend<W>> sends) where W : notnull
    {
        var opinions = s.Opinions.GetValueOrDefault(node, []);
        if (s.Finished.Contains(node) || opinions.Any(o => o.Worker.Equals(from))) return s; // decided already, or the same worker again
        opinions = opinions.Add((from, g));
        s = s with { Opinions = s.Opinions.SetItem(node, opinions) };
        var senders = opinions.Select(o => o.Worker).ToList();
        string what = $"micro-shards [{g.Shard}, {g.Shard + g.Shards}) of step {g.Step}";
        switch (opinions.Count)
        {
            case 1:
                return Assign(s, node, sends, avoid: from); // a second computation, elsewhere
            case 2 when GradientChecks.SameBits(opinions[0].Gradient, g):
                return Decided(s, node, g, sends);
            case 2 when s.Workers.Count(w => !senders.Contains(w)) == 0:
                return Finish(s, new RunOutcome(null, new InvalidOperationException(
                    $"step {g.Step}: workers {opinions[0].Worker} and {from} computed {what} differently, and there is no third worker to decide")), sends);
            case 2:
                return Assign(s, node, sends, senders); // a third, to decide
            default:
                var agrees = opinions.Take(opinions.Count - 1).Where(o => GradientChecks.SameBits(o.Gradient, g)).ToList();
                if (agrees.Count == 0)
                    return Finish(s, new RunOutcome(null, new InvalidOperationException($"step {g.Step}: three workers computed {what} three ways")), sends);
                foreach (var (wrong, _) in opinions.Take(opinions.Count - 1).Where(o => !GradientChecks.SameBits(o.Gradient, g)))
                    s = Exclude(s, wrong, $"its gradient for {what} differs, bit for bit, from two other workers' (audit)", sends);
                return s.Done ? s : Decided(s, node, g, sends);
        }
    }

    /// <summary>
    /// The node's gradient goes to the server; the other opinions of it are released, so that an audited step
    /// allocates no gradient of its own (two 814 kB arrays of Fashion-MNIST's a step made the collector run
    /// often enough to double an audit's cost).
    /// </summary>
    private static StepState<W> Decided<W>(StepState<W> s, int node, GradientShard g, List<StepSend<W>> sends) where W : notnull
    {
        foreach (var (_, other) in s.Opinions.GetValueOrDefault(node, []))
            if (!ReferenceEquals(other, g) && !ReferenceEquals(other.Gradients, g.Gradients)) sends.Add(new StepSend<W>.Release(other));
        s = ToServer(s, s.Step, new StepSend<W>.Pass(g, s.Attempts.GetValueOrDefault(node) - 1), sends);
        return s with { Finished = s.Finished.Add(node) };
    }

    /// <summary>How many examples the node's micro-shards hold.</summary>
    private static int Examples<W>(StepState<W> s, int node) where W : notnull
    {
        int micro = s.Plan.Settings.MicroShard;
        return Math.Min(s.Batch.Length, s.Nodes[node].End * micro) - s.Nodes[node].First * micro;
    }

    /// <summary>A worker that sent what it must not is out of the run: its unfinished work goes to the others.</summary>
    private static StepState<W> Exclude<W>(StepState<W> s, W worker, string reason, List<StepSend<W>> sends) where W : notnull
    {
        if (s.Excluded.Contains(worker)) return s; // caught on two nodes of one step: once is enough
        sends.Add(new StepSend<W>.Exclude(worker, reason));
        if (s.Plan.Audit > 0 && s.Unverified.TryGetValue(worker, out var first) && (s.Rewind is not var (earlier, _) || first < earlier))
            s = s with { Rewind = (first, worker) };
        return Lose(s with { Excluded = s.Excluded.Add(worker), Refused = s.Refused + 1 }, worker, sends);
    }

    private static StepState<W> Updated<W>(StepState<W> s, ParameterUpdate update, List<StepSend<W>> sends) where W : notnull
    {
        foreach (var worker in s.Workers) sends.Add(new StepSend<W>.Update(worker, update));
        return s with { Latest = update };
    }

    private static StepState<W> Applied<W>(StepState<W> s, StepApplied applied, List<StepSend<W>> sends) where W : notnull
    {
        if (s.Plan.Staleness > 0) return AppliedAhead(s, applied, sends);
        if (applied.Step != s.Step) return s;
        sends.Add(new StepSend<W>.Log(new StepLog(applied.Step, s.Plan.Settings.Batches.Cursor(applied.Step).Epoch, applied.Loss) { Replay = s.Replayed }));
        s = s with { Step = s.Step + 1, Batch = [], Nodes = [], Replayed = null };
        if (s.Plan.Checkpoint?.Due(s.Step, s.Plan.Until) == true)
        {
            sends.Add(new StepSend<W>.ToServer(new SaveCheckpoint(s.Step)));
            return s;
        }
        return StartOrFinish(s, sends);
    }

    /// <summary>
    /// With staleness S: every gradient of the step in flight is here, so the next step begins at once — while
    /// the server still applies this one — if its parameters (from before step + 1 - S) are here; else it
    /// begins when they come (<see cref="AppliedAhead"/>).
    /// </summary>
    private static StepState<W> Ahead<W>(StepState<W> s, List<StepSend<W>> sends) where W : notnull
    {
        s = s with { Step = s.Step + 1, Batch = [], Nodes = [] };
        return s.Step < s.Plan.Until && s.ParametersReady ? StartStep(s, sends) : s;
    }

    /// <summary>
    /// With staleness: the server applied its next step. Its log line; the parameters kept for the steps that
    /// lag behind them; what was held for the server's new step; the step waiting for these parameters begun;
    /// and after the last step, the state asked for.
    /// </summary>
    private static StepState<W> AppliedAhead<W>(StepState<W> s, StepApplied applied, List<StepSend<W>> sends) where W : notnull
    {
        if (applied.Step != s.ServerStep) return s;
        sends.Add(new StepSend<W>.Log(new StepLog(applied.Step, s.Plan.Settings.Batches.Cursor(applied.Step).Epoch, applied.Loss)));
        long next = applied.Step + 1;
        var versions = s.Versions.SetItem(next, s.Latest);
        versions = versions.RemoveRange(versions.Keys.Where(k => k < next - s.Plan.Staleness));
        var release = s.Held.Where(h => h.Step == next).Select(h => h.Send).ToList();
        sends.AddRange(release);
        s = s with { ServerStep = next, Versions = versions, Held = s.Held.RemoveAll(h => h.Step == next) };
        if (next >= s.Plan.Until)
        {
            sends.Add(new StepSend<W>.ToServer(GetState.Instance));
            return s;
        }
        return !s.InFlight && s.Step < s.Plan.Until && s.ParametersReady ? StartStep(s, sends) : s;
    }

    /// <summary>A send for the server about <paramref name="step"/>: now, or with staleness, held until the server has reached that step (it applies steps in order).</summary>
    private static StepState<W> ToServer<W>(StepState<W> s, long step, StepSend<W> send, List<StepSend<W>> sends) where W : notnull
    {
        if (s.Plan.Staleness == 0 || step <= s.ServerStep) { sends.Add(send); return s; }
        return s with { Held = s.Held.Add((step, send)) };
    }

    private static StepState<W> StartOrFinish<W>(StepState<W> s, List<StepSend<W>> sends) where W : notnull
    {
        if (s.Step < s.Plan.Until) return StartStep(s, sends);
        sends.Add(new StepSend<W>.ToServer(GetState.Instance));
        return s;
    }

    private static StepState<W> Lose<W>(StepState<W> s, W worker, List<StepSend<W>> sends) where W : notnull
    {
        if (!s.Workers.Contains(worker)) return s;
        s = s with { Workers = s.Workers.Remove(worker), Unverified = s.Unverified.Remove(worker) }; // it can no longer be excluded
        sends.Add(new StepSend<W>.Unwatch(worker));
        var unfinished = s.Assigned.Where(kv => !s.Finished.Contains(kv.Key)).OrderBy(kv => kv.Key).ToList();
        if (s.Workers.Count == 0 && s.Plan.WaitForWorkers)
            return s with { Assigned = s.Assigned.RemoveRange(unfinished.Select(kv => kv.Key)) }; // a joiner takes them
        if (s.Workers.Count == 0)
            return Finish(s, new RunOutcome(null, new InvalidOperationException($"step {s.Step}: every worker has stopped")), sends);
        foreach (var (node, _) in unfinished.Where(kv => kv.Value.Equals(worker)))
            s = Assign(s, node, sends);
        return s;
    }

    private static StepState<W> Resend<W>(StepState<W> s, List<StepSend<W>> sends) where W : notnull
    {
        if (s.Resends + 1 > s.Plan.MaxResends)
            return Finish(s, new RunOutcome(null, new TimeoutException($"step {s.Step} made no progress after {s.Plan.MaxResends} resends")), sends);
        // A gradient may have been lost after it passed here: send every node the server may lack.
        s = s with { Resends = s.Resends + 1, Finished = s.Finished.Clear(), Opinions = s.Opinions.Clear() }; // an audit starts over too
        for (int i = 0; i < s.Nodes.Length; i++) s = Assign(s, i, sends);
        sends.Add(new StepSend<W>.ScheduleResend(s.Step, s.Plan.ResendAfter));
        return s;
    }

    private static StepState<W> Finish<W>(StepState<W> s, RunOutcome outcome, List<StepSend<W>> sends) where W : notnull
    {
        sends.Add(new StepSend<W>.Finish(outcome));
        return s with { Done = true };
    }

    private static TrainingState State(StateSnapshot s) =>
        new(NamedTensor.ToParameters(s.Parameters), new OptimizerState<float>(s.OptimizerStep, NamedTensor.ToParameters(s.Slots)), s.Step);
}
