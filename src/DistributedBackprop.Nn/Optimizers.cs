using System.Numerics;
using DistributedBackprop.Core;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace DistributedBackprop.Nn;

/// <summary>An optimizer's state: how many steps it has taken and its per-parameter slots (momentum, Adam's moments).</summary>
public sealed record OptimizerState<T>(long Step, Parameters<T> Slots) where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>
/// An optimizer as a pure step <c>(parameters, gradients, state) -> (parameters, state)</c>. The arithmetic
/// is one in-place kernel per optimizer; <see cref="Step{T}"/> runs it on copies, a trainer that owns its
/// buffers runs <see cref="StepInPlace{T}"/> and allocates nothing.
/// </summary>
public abstract record Optimizer
{
    /// <summary>The name used on the command line and in checkpoints.</summary>
    public abstract string Kind { get; }

    /// <summary>Names of the per-parameter state slots, e.g. "momentum".</summary>
    public abstract IReadOnlyList<string> SlotNames { get; }

    /// <summary>
    /// One parameter's update from <paramref name="p"/> into <paramref name="next"/> — the same span when in
    /// place, so every read of the old value comes before its element is written; slots are updated in place;
    /// <paramref name="step"/> counts from 1.
    /// </summary>
    protected abstract void Update<T>(ReadOnlySpan<T> p, Span<T> next, ReadOnlySpan<T> g, Span<T> slot0, Span<T> slot1, long step) where T : unmanaged, IFloatingPointIeee754<T>;

    public static string SlotKey(string parameter, string slot) => parameter + "#" + slot;

    /// <summary>Over how many steps the learning rate anneals to 0 along a half cosine; 0 keeps it constant.</summary>
    public long CosineSteps { get; init; }

    /// <summary>The learning rate of step <paramref name="step"/> (from 1): a pure function of the step, so every engine agrees.</summary>
    protected double RateAt(double baseRate, long step) => CosineSteps <= 0 ? baseRate
        : baseRate * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(step - 1, CosineSteps) / CosineSteps));

    public OptimizerState<T> Init<T>(Parameters<T> parameters) where T : unmanaged, IFloatingPointIeee754<T> =>
        new(0, new Parameters<T>(parameters.SelectMany(p => SlotNames.Select(s => (SlotKey(p.Name, s), Tensor<T>.Zeros(p.Value.Dims))))));

    public (Parameters<T> Parameters, OptimizerState<T> State) Step<T>(Parameters<T> parameters, Parameters<T> gradients, OptimizerState<T> state)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // New parameters are written straight from the old ones: one pass, not a copy and then an update.
        var next = parameters.Map((_, t) => Tensor<T>.Zeros([.. t.Shape]));
        var s = new OptimizerState<T>(state.Step, state.Slots.Map((_, t) => new Tensor<T>(t.ToArray(), t.Dims)));
        return (next, Apply(parameters, next, gradients, s));
    }

    /// <summary>Writes the step into <paramref name="parameters"/>' and the state's own buffers: only for tensors the caller owns.</summary>
    public OptimizerState<T> StepInPlace<T>(Parameters<T> parameters, Parameters<T> gradients, OptimizerState<T> state)
        where T : unmanaged, IFloatingPointIeee754<T> => Apply(parameters, parameters, gradients, state);

    private OptimizerState<T> Apply<T>(Parameters<T> parameters, Parameters<T> next, Parameters<T> gradients, OptimizerState<T> state)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        long step = state.Step + 1;
        for (int i = 0; i < parameters.Count; i++)
        {
            var (name, p) = parameters[i];
            var g = gradients[name];
            if (!Shapes.Equal(g.Dims, p.Dims)) throw new ArgumentException($"gradient of {name} has shape {Shapes.Format(g.Dims)}, the parameter {Shapes.Format(p.Dims)}");
            Span<T> s0 = SlotNames.Count > 0 ? state.Slots[SlotKey(name, SlotNames[0])].Buffer : default;
            Span<T> s1 = SlotNames.Count > 1 ? state.Slots[SlotKey(name, SlotNames[1])].Buffer : default;
            Update<T>(p.Buffer, next[i].Value.Buffer, g.Buffer, s0, s1, step);
        }
        return state with { Step = step };
    }
}

/// <summary>PyTorch's SGD: weight decay added to the gradient, optional (Nesterov) momentum without dampening.</summary>
public sealed record Sgd(double LearningRate, double Momentum = 0, bool Nesterov = false, double WeightDecay = 0) : Optimizer
{
    public override string Kind => Nesterov ? "nesterov" : Momentum != 0 ? "momentum" : "sgd";
    public override IReadOnlyList<string> SlotNames => Momentum != 0 ? ["momentum"] : [];

    protected override void Update<T>(ReadOnlySpan<T> p, Span<T> next, ReadOnlySpan<T> g, Span<T> buf, Span<T> unused, long step)
    {
        T lr = T.CreateChecked(RateAt(LearningRate, step)), wd = T.CreateChecked(WeightDecay), mu = T.CreateChecked(Momentum);
        if (Momentum != 0)
        {
            // buf = mu buf + (g + wd p); the first step starts buf at the gradient, as PyTorch does.
            if (step == 1) g.CopyTo(buf);
            else TP.MultiplyAdd(buf, mu, g, buf);
            if (WeightDecay != 0) TP.MultiplyAdd(p, wd, buf, buf);
        }
        // next = p - lr (d), d = g + wd p (plain), buf (momentum) or g + wd p + mu buf (Nesterov).
        if (Momentum == 0 && WeightDecay == 0) { TP.MultiplyAdd(g, -lr, p, next); return; } // one pass
        if (WeightDecay != 0 && (Momentum == 0 || Nesterov)) TP.Multiply(p, T.One - lr * wd, next);
        else p.CopyTo(next);
        if (Momentum == 0) TP.MultiplyAdd(g, -lr, next, next);
        else if (Nesterov)
        {
            TP.MultiplyAdd(g, -lr, next, next);
            TP.MultiplyAdd(buf, -lr * mu, next, next);
        }
        else TP.MultiplyAdd(buf, -lr, next, next);
    }
}

/// <summary>Adam (Kingma and Ba), with bias correction, as PyTorch's torch.optim.Adam.</summary>
public sealed record Adam(double LearningRate = 1e-3, double Beta1 = 0.9, double Beta2 = 0.999, double Epsilon = 1e-8, double WeightDecay = 0) : Optimizer
{
    public override string Kind => "adam";
    public override IReadOnlyList<string> SlotNames => ["m", "v"];

    protected override void Update<T>(ReadOnlySpan<T> p, Span<T> next, ReadOnlySpan<T> g, Span<T> m, Span<T> v, long step)
    {
        T b1 = T.CreateChecked(Beta1), b2 = T.CreateChecked(Beta2), wd = T.CreateChecked(WeightDecay), eps = T.CreateChecked(Epsilon);
        T stepSize = T.CreateChecked(RateAt(LearningRate, step) / (1 - Math.Pow(Beta1, step)));
        T correction2 = T.CreateChecked(Math.Sqrt(1 - Math.Pow(Beta2, step)));
        T oneMinusB1 = T.One - b1, oneMinusB2 = T.One - b2;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
            for (; i <= p.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var vp = new Vector<T>(p[i..]);
                var grad = new Vector<T>(g[i..]) + vp * wd;
                var vm = new Vector<T>(m[i..]) * b1 + grad * oneMinusB1;
                var vv = new Vector<T>(v[i..]) * b2 + grad * grad * oneMinusB2;
                vm.CopyTo(m[i..]);
                vv.CopyTo(v[i..]);
                (vp - vm * stepSize / (Vector.SquareRoot(vv) / correction2 + new Vector<T>(eps))).CopyTo(next[i..]);
            }
        // The same operations, in the same order, for the elements left over.
        for (; i < p.Length; i++)
        {
            T grad = g[i] + p[i] * wd;
            m[i] = m[i] * b1 + grad * oneMinusB1;
            v[i] = v[i] * b2 + grad * grad * oneMinusB2;
            next[i] = p[i] - m[i] * stepSize / (T.Sqrt(v[i]) / correction2 + eps);
        }
    }
}
