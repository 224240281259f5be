using System.Text.Json;
using DistributedBackprop.Training;

namespace DistributedBackprop.Cli;

/// <summary>
/// What a run prints when it goes back (a worker excluded with unchecked gradients in the parameters): one
/// line, <c>{"event":"replay","from_step":N,"caught_at_step":C,"worker":"..."}</c> with --json, before the steps from N are
/// printed again. Every line for a step N or later printed before it is void: a reader keeps the last line
/// of each step, and the run's last line is, as always, its result.
/// </summary>
public static class ReplayReport
{
    public static string Json(StepReplay r) =>
        JsonSerializer.Serialize(new Dictionary<string, object> { ["event"] = "replay", ["from_step"] = r.FromStep, ["caught_at_step"] = r.CaughtAt, ["worker"] = r.Worker });

    public static string Text(StepReplay r) =>
        $"replay from step {r.FromStep}: worker {r.Worker} was caught in step {r.CaughtAt} and excluded; what it computed unchecked is undone";

    public static void Print(StepReplay r, bool json, TextWriter output) => output.WriteLine(json ? Json(r) : Text(r));
}
