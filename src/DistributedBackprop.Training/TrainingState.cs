using DistributedBackprop.Nn;

namespace DistributedBackprop.Training;

/// <summary>Where a run is: parameters, optimizer state, and the next step to take (the data cursor).</summary>
public sealed record TrainingState(Parameters<float> Parameters, OptimizerState<float> Optimizer, long Step)
{
    public static TrainingState Start(TrainingSettings s)
    {
        var parameters = s.Objective.Model.Init<float>(s.Seed);
        return new(parameters, s.Optimizer.Init(parameters), 0);
    }

    /// <summary>A first state from given weights (e.g. <c>--init</c>): they must be the model's, in its order.</summary>
    public static TrainingState From(TrainingSettings s, Parameters<float> parameters)
    {
        if (!parameters.Names.SequenceEqual(s.Objective.Model.Parameters.Select(p => p.Name)))
            throw new ArgumentException("the weights are not the model's parameters, in the model's order");
        return new(parameters, s.Optimizer.Init(parameters), 0);
    }
}

/// <summary>One logged step: the step number (from 0), its epoch, and the minibatch's mean loss before the update.</summary>
public sealed record StepLog(long Step, int Epoch, double Loss)
{
    /// <summary>On the first step of a replay: the run went back, and what it reported for this step and later ones before is void.</summary>
    public StepReplay? Replay { get; init; }
}

/// <summary>
/// A run went back to the state before <paramref name="FromStep"/> and replays from there without
/// <paramref name="Worker"/>, excluded for a wrong result in step <paramref name="CaughtAt"/> (the step in flight, not applied).
/// </summary>
public sealed record StepReplay(long FromStep, long CaughtAt, string Worker);

/// <summary>A step the run cannot take: a non-finite loss or gradient. Nothing of it was applied.</summary>
public sealed class TrainingDivergedException(long step, string detail) : Exception($"step {step}: {detail}")
{
    public long Step { get; } = step;
}
