using DistributedBackprop.Nn;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors.Failover;

/// <summary>
/// What a standby parameter server does with the state the active one sends it, and what it resumes from if
/// it becomes active. Pure: the <see cref="Standby"/> actor only receives, asks these and keeps the result.
/// A snapshot is network input from another node: it is kept only if it is complete (every parameter and
/// optimizer slot of this job's model, each of the model's shape, every value finite), newer than the one
/// held, and not of the run's last step (a run that got there has its result; the step before it is kept,
/// so a new active node always has a step left to compute and the run's last lines to print).
/// </summary>
public static class StandbyRules
{
    /// <summary>The names and shapes a state of this job must have: the model's parameters and the optimizer's slots.</summary>
    public sealed record Layout(IReadOnlyList<(string Name, int[] Shape)> Parameters, IReadOnlyList<(string Name, int[] Shape)> Slots, long Steps)
    {
        public static Layout Of(TrainingSettings settings)
        {
            var start = TrainingState.Start(settings);
            return new(Shapes(start.Parameters), Shapes(start.Optimizer.Slots), settings.Steps);
        }

        private static (string, int[])[] Shapes(Parameters<float> p) => [.. p.Select(t => (t.Name, t.Value.Shape.ToArray()))];
    }

    /// <summary>The state to hold after <paramref name="snapshot"/> arrives, and why it was refused (null if kept, or an older duplicate).</summary>
    public static (TrainingState? Held, string? Refused) Accept(TrainingState? held, StateSnapshot? snapshot, Layout layout)
    {
        if (Problem(snapshot, layout) is { } problem) return (held, problem);
        var s = snapshot!;
        if (s.Step >= layout.Steps) return (held, null);          // the run's last state: its result is printed by the node that has it
        if (held is not null && s.Step <= held.Step) return (held, null); // a repeat, or overtaken: not news
        return (new TrainingState(NamedTensor.ToParameters(s.Parameters), new OptimizerState<float>(s.OptimizerStep, NamedTensor.ToParameters(s.Slots)), s.Step), null);
    }

    /// <summary>Where a node that has just become active starts: the newest state it holds, if that is ahead of the run's own start.</summary>
    public static TrainingState ResumeFrom(TrainingState? held, TrainingState start) => held is not null && held.Step > start.Step ? held : start;

    private static string? Problem(StateSnapshot? s, Layout layout)
    {
        if (s is null) return "an empty state";
        if (s.Step < 0 || s.Version != s.Step) return $"a state of step {s.Step} at version {s.Version}";
        if (s.OptimizerStep < 0 || s.OptimizerStep > s.Step) return $"a state of step {s.Step} with an optimizer at step {s.OptimizerStep}";
        return Tensors("parameter", s.Parameters, layout.Parameters) ?? Tensors("optimizer slot", s.Slots, layout.Slots);
    }

    private static string? Tensors(string what, NamedTensor[]? given, IReadOnlyList<(string Name, int[] Shape)> expected)
    {
        if (given is null || given.Length != expected.Count) return $"{given?.Length ?? 0} {what}s, the job has {expected.Count}";
        for (int i = 0; i < given.Length; i++)
        {
            var (name, shape) = expected[i];
            if (given[i] is not { Value: { } value } t || t.Name != name) return $"{what} {i} is not '{name}'";
            if (!value.Shape.SequenceEqual(shape)) return $"{what} '{name}' has shape [{string.Join(',', value.Shape.ToArray())}], the job's is [{string.Join(',', shape)}]";
            foreach (var x in value.Data) if (!float.IsFinite(x)) return $"{what} '{name}' holds a value that is not finite";
        }
        return null;
    }
}
