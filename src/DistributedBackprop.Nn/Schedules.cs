namespace DistributedBackprop.Nn;

/// <summary>
/// A learning-rate schedule: the rate of step s (counted from 1) as a pure function of the base rate and s,
/// so every engine, every shard and every replay agrees. Step s takes the rate PyTorch's scheduler gives
/// after s - 1 calls of <c>scheduler.step()</c>.
/// </summary>
public abstract record Schedule
{
    public abstract double Rate(double baseRate, long step);

    /// <summary>Half a cosine from the base rate down to 0 over <see cref="Steps"/> steps, then 0 (CosineAnnealingLR, eta_min = 0).</summary>
    public sealed record Cosine : Schedule
    {
        public Cosine(long steps) => Steps = steps > 0 ? steps : throw new ArgumentOutOfRangeException(nameof(steps), "a cosine schedule needs at least one step");
        public long Steps { get; }
        public override double Rate(double baseRate, long step) =>
            baseRate * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(step - 1, Steps) / Steps));
    }

    /// <summary>The rate times <see cref="Gamma"/> after every <see cref="StepSize"/> steps (StepLR).</summary>
    public sealed record StepDecay : Schedule
    {
        public StepDecay(long stepSize, double gamma = 0.1)
        {
            StepSize = stepSize > 0 ? stepSize : throw new ArgumentOutOfRangeException(nameof(stepSize), "StepLR's step size must be positive");
            Gamma = gamma;
        }
        public long StepSize { get; }
        public double Gamma { get; }
        public override double Rate(double baseRate, long step) => baseRate * Math.Pow(Gamma, (step - 1) / StepSize);
    }

    /// <summary>
    /// A linear warm-up over the first <see cref="Warmup"/> steps (step s of them at s/W of the base rate, so
    /// step W at the full rate), then half a cosine down to 0 over the remaining <see cref="Steps"/> - W:
    /// PyTorch's SequentialLR of LinearLR(1/W, 1, W - 1) and CosineAnnealingLR(Steps - W), milestone W.
    /// </summary>
    public sealed record WarmupCosine : Schedule
    {
        public WarmupCosine(long warmup, long steps)
        {
            if (warmup < 0 || steps <= warmup) throw new ArgumentOutOfRangeException(nameof(steps), $"warm-up then cosine needs 0 <= warm-up < steps, got {warmup} and {steps}");
            Warmup = warmup;
            Steps = steps;
        }
        public long Warmup { get; }
        public long Steps { get; }
        public override double Rate(double baseRate, long step) => step <= Warmup
            ? baseRate * step / Warmup
            : baseRate * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(step - 1 - Warmup, Steps - Warmup) / (Steps - Warmup)));
    }
}
