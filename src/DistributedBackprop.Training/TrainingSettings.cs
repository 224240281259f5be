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
    int Seed);
