using System.Globalization;
using System.Text.RegularExpressions;

namespace DistributedBackprop.Actors;

/// <summary>A chaos plan that does not parse: the statement and why.</summary>
public sealed class ChaosPlanException(string message) : Exception(message);

/// <summary>
/// A <see cref="FaultPlan"/> written in a small language, for <c>dbp train --chaos</c> and the tests alike.
/// Statements, separated by <c>;</c> or new lines (workers count from 0 in the order they started, shards
/// are a node's first micro-shard, <c>any</c> matches every step or shard):
/// <code>
/// stop worker 1 at step 10
/// drop shard 2 of step 3            (its first sending; "every time" for all of them)
/// drop gradient 0 of step any
/// delay shard any of step 5 by 20ms
/// duplicate gradient 1 of step any
/// corrupt worker 1 from step 20 x1000      (or: flip bits)
/// </code>
/// Every decision is a pure function of its arguments, so a plan's run is repeatable.
/// </summary>
public sealed partial class ChaosPlan : FaultPlan
{
    private sealed record Rule(string Verb, string What, int? Shard, long? Step, bool Always, TimeSpan Delay);

    private readonly List<(int Worker, long Step)> _stops = [];
    private readonly List<Rule> _rules = [];
    private readonly List<(int Worker, long From, Corruption How)> _corrupt = [];

    public string Text { get; }

    /// <summary>Whether the plan drops a gradient on its way to the server: with staleness nothing sends a gradient again once the step after it has begun.</summary>
    public bool DropsGradients => _rules.Any(r => r.Verb == "drop" && r.What == "gradient");

    /// <summary>Whether the plan only corrupts worker 0's arithmetic: all a worker node can do to itself (its one worker is worker 0).</summary>
    public bool CorruptsWorkerZeroOnly => _stops.Count == 0 && _rules.Count == 0 && _corrupt.All(c => c.Worker == 0);

    private ChaosPlan(string text) => Text = text;

    [GeneratedRegex(@"^stop worker (\d+) at step (\d+)$")]
    private static partial Regex Stop();

    [GeneratedRegex(@"^(drop|duplicate|delay) (shard|gradient) (\d+|any) of step (\d+|any)(?: by (\d+)ms)?( every time)?$")]
    private static partial Regex Message();

    [GeneratedRegex(@"^corrupt worker (\d+) from step (\d+) (?:x([0-9.eE+-]+)|(flip bits))$")]
    private static partial Regex Corrupt();

    public static ChaosPlan Parse(string text)
    {
        var plan = new ChaosPlan(text);
        foreach (var raw in text.Split([';', '\n'], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var statement = Regex.Replace(raw.ToLowerInvariant(), @"\s+", " ");
            if (Stop().Match(statement) is { Success: true } s)
                plan._stops.Add((Int(s.Groups[1].Value, raw), long.Parse(s.Groups[2].Value, CultureInfo.InvariantCulture)));
            else if (Message().Match(statement) is { Success: true } m)
            {
                if (m.Groups[1].Value == "delay" != m.Groups[5].Success)
                    throw new ChaosPlanException($"--chaos: '{raw}': a delay needs 'by Nms', and only a delay has one");
                plan._rules.Add(new Rule(m.Groups[1].Value, m.Groups[2].Value, Any(m.Groups[3].Value, raw) is { } shard ? (int)shard : null, Any(m.Groups[4].Value, raw),
                    m.Groups[6].Success, m.Groups[5].Success ? TimeSpan.FromMilliseconds(Int(m.Groups[5].Value, raw)) : TimeSpan.Zero));
            }
            else if (Corrupt().Match(statement) is { Success: true } c)
            {
                float factor = 1;
                if (c.Groups[3].Success && (!float.TryParse(c.Groups[3].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out factor) || !float.IsFinite(factor)))
                    throw new ChaosPlanException($"--chaos: '{raw}': x{c.Groups[3].Value} is not a finite factor");
                plan._corrupt.Add((Int(c.Groups[1].Value, raw), long.Parse(c.Groups[2].Value, CultureInfo.InvariantCulture), new Corruption(factor, c.Groups[4].Success)));
            }
            else throw new ChaosPlanException($"--chaos: '{raw}' is not a statement of the plan language (stop worker K at step N; drop|duplicate|delay shard|gradient S|any of step N|any [by Nms] [every time]; corrupt worker K from step N xF|flip bits)");
        }
        return plan;
    }

    private static int Int(string text, string statement) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= 1_000_000 ? n : throw new ChaosPlanException($"--chaos: '{statement}': {text} is too large");

    private static long? Any(string text, string statement) => text == "any" ? null : Int(text, statement);

    public override int? StopWorkerAt(long step)
    {
        foreach (var (worker, at) in _stops) if (at == step) return worker;
        return null;
    }

    public override Fault OnShard(long step, int shard, int attempt) => Decide("shard", step, shard, attempt);

    public override Fault OnGradient(long step, int shard, int attempt) => Decide("gradient", step, shard, attempt);

    public override Corruption? Corrupts(int worker, long step) => _corrupt.LastOrDefault(c => c.Worker == worker && step >= c.From).How;

    private Fault Decide(string what, long step, int shard, int attempt)
    {
        foreach (var r in _rules)
            if (r.What == what && (r.Step ?? step) == step && (r.Shard ?? shard) == shard && (r.Always || attempt == 0))
                return r.Verb switch
                {
                    "drop" => new Fault.Drop(),
                    "duplicate" => new Fault.Duplicate(),
                    "delay" => new Fault.Delay(r.Delay),
                    _ => throw new System.Diagnostics.UnreachableException(),
                };
        return Fault.None;
    }
}
