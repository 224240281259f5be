using DistributedBackprop.Data;
using DistributedBackprop.Nn;

namespace DistributedBackprop.Training;

/// <summary>Everything that decides a training run's numbers: with equal settings, equal parameters, bit for bit.</summary>
public sealed record TrainingSettings(
    Objective Objective,
    Optimizer Optimizer,
    Batches Batches,
    long Steps,
    int MicroShard,
    int Seed)
{
    /// <summary>
    /// S: step t's gradients are computed with the parameters from before step t - S (a training call's first
    /// S steps: with the parameters it started from), and applied to the newest. With worker actors the next
    /// step is then computed while the server applies this one; the numbers depend on S, not on the engine.
    /// </summary>
    public int Staleness { get; init; }

    /// <summary>The most steps a gradient may lag behind the parameters it is applied to.</summary>
    public const int MaxStaleness = 4;
}
