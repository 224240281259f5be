namespace DistributedBackprop.Training;

/// <summary>
/// Something that takes training steps: the single-process <see cref="Trainer"/>, or actors in one process or
/// across a cluster. All of them compute the same steps the same way, so they end with the same parameters.
/// </summary>
public interface ITrainingEngine : IDisposable
{
    /// <summary>
    /// Runs from <paramref name="state"/> (never changed) until step <paramref name="until"/>, calling
    /// <paramref name="onStep"/> after each step, and returns the state reached. A step whose loss or gradient is
    /// not finite is not applied: the run ends with <see cref="TrainingDivergedException"/>.
    /// </summary>
    TrainingState Run(TrainingState state, long until, Action<StepLog>? onStep = null);

    /// <summary>How many workers have taken part so far: 0 for the plain loop; a cluster counts its worker nodes.</summary>
    int Workers { get; }

    /// <summary>Blocks until enough workers are up, so that timing starts with training, not with waiting.</summary>
    void AwaitWorkers() { }

    void IDisposable.Dispose() { }
}
