using System.Numerics;
using DistributedBackprop.Core;

namespace DistributedBackprop.Nn;

/// <summary>An optimizer's state: how many steps it has taken and its per-parameter slots (momentum, Adam's moments).</summary>
public sealed record OptimizerState<T>(long Step, Parameters<T> Slots) where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>
/// An optimizer as a pure step <c>(parameters, gradients, state) -> (parameters, state)</c>. The arithmetic
/// is one in-place kernel per optimizer that reads each gradient element scaled by a factor: 1 for a mean
/// gradient, 1/n for a sum over n examples, so that a trainer hands over its gradient sums and the mean is
/// never written out. <see cref="Step{T}(Parameters{T}, Parameters{T}, OptimizerState{T})"/> runs it on
/// copies; a trainer that owns its buffers runs <see cref="StepInPlace{T}"/> and allocates nothing. The same
/// pass checks that every gradient element is finite: a step from sums says so, and a caller throws away
/// what a non-finite step wrote.
/// </summary>
public abstract record Optimizer
{
    /// <summary>Names of the per-parameter state slots, e.g. "momentum".</summary>
    public abstract IReadOnlyList<string> SlotNames { get; }

    /// <summary>
    /// One parameter's update from <paramref name="p"/> into <paramref name="next"/> — the same span when in
    /// place, so every read of the old value comes before its element is written — with the gradient
    /// <paramref name="g"/>·<paramref name="scale"/>; slots are updated in place; <paramref name="step"/> counts from 1.
    /// Returns whether every element of <paramref name="g"/> is finite.
    /// </summary>
    protected abstract bool Update<T>(ReadOnlySpan<T> p, Span<T> next, ReadOnlySpan<T> g, T scale, Span<T> slot0, Span<T> slot1, long step) where T : unmanaged, IFloatingPointIeee754<T>;

    public static string SlotKey(string parameter, string slot) => parameter + "#" + slot;

    /// <summary>Over how many steps the learning rate anneals to 0 along a half cosine; 0 keeps it constant.</summary>
    public long CosineSteps { get; init; }

    /// <summary>The learning rate of step <paramref name="step"/> (from 1): a pure function of the step, so every engine agrees.</summary>
    protected double RateAt(double baseRate, long step) => CosineSteps <= 0 ? baseRate
        : baseRate * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(step - 1, CosineSteps) / CosineSteps));

    public OptimizerState<T> Init<T>(Parameters<T> parameters) where T : unmanaged, IFloatingPointIeee754<T> =>
        new(0, new Parameters<T>(parameters.SelectMany(p => SlotNames.Select(s => (SlotKey(p.Name, s), Tensor<T>.Zeros(p.Value.Dims))))));

    /// <summary>A step with mean gradients, by name, on copies.</summary>
    public (Parameters<T> Parameters, OptimizerState<T> State) Step<T>(Parameters<T> parameters, Parameters<T> gradients, OptimizerState<T> state)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (next, s) = Copies(parameters, state);
        return (next, Apply(parameters, next, ByName(parameters, gradients), T.One, s).State);
    }

    /// <summary>
    /// A step with the gradient sums over <paramref name="count"/> examples, <paramref name="sums"/>(i) for
    /// parameter i, on copies: the parameter server's step. Null when a gradient element is not finite.
    /// </summary>
    public (Parameters<T> Parameters, OptimizerState<T> State)? Step<T>(Parameters<T> parameters, Func<int, ReadOnlySpan<T>> sums, int count, OptimizerState<T> state)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (next, s) = Copies(parameters, state);
        return Apply(parameters, next, sums, Scale<T>(count), s) is (var after, true) ? (next, after) : null;
    }

    /// <summary>
    /// A step with the gradient sums over <paramref name="count"/> examples, written into
    /// <paramref name="parameters"/>' and the state's own buffers: only for tensors the caller owns. Null when
    /// a gradient element is not finite; the buffers then hold a half-made step and must be thrown away.
    /// </summary>
    public OptimizerState<T>? StepInPlace<T>(Parameters<T> parameters, Func<int, ReadOnlySpan<T>> sums, int count, OptimizerState<T> state)
        where T : unmanaged, IFloatingPointIeee754<T> => Apply(parameters, parameters, sums, Scale<T>(count), state) is (var after, true) ? after : null;

    /// <summary>
    /// A step with the gradient sums over <paramref name="count"/> examples from <paramref name="parameters"/>
    /// into <paramref name="next"/> (the caller's buffers, of the same shapes), the state's slots updated in
    /// place: a parameter server's step into its next version while workers still read the current one. Null
    /// when a gradient element is not finite; <paramref name="next"/> and the slots then hold a half-made step.
    /// </summary>
    public OptimizerState<T>? StepInto<T>(Parameters<T> parameters, Parameters<T> next, Func<int, ReadOnlySpan<T>> sums, int count, OptimizerState<T> state)
        where T : unmanaged, IFloatingPointIeee754<T> => Apply(parameters, next, sums, Scale<T>(count), state) is (var after, true) ? after : null;

    /// <summary>
    /// Buffers for a step on copies: new parameters, written straight from the old ones by the step (one pass,
    /// not a copy and then an update), and copies of the slots, which the step updates in place.
    /// </summary>
    private static (Parameters<T> Next, OptimizerState<T> State) Copies<T>(Parameters<T> parameters, OptimizerState<T> state)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        (parameters.Map((_, t) => Tensor<T>.Zeros([.. t.Shape])),
         new OptimizerState<T>(state.Step, state.Slots.Map((_, t) => new Tensor<T>(t.ToArray(), t.Dims))));

    /// <summary>1/count: the mean is the sum times this, the same factor in every engine.</summary>
    private static T Scale<T>(int count) where T : unmanaged, IFloatingPointIeee754<T> =>
        count > 0 ? T.One / T.CreateChecked(count) : throw new ArgumentOutOfRangeException(nameof(count), "a step needs at least one example");

    private static Func<int, ReadOnlySpan<T>> ByName<T>(Parameters<T> parameters, Parameters<T> gradients) where T : unmanaged, IFloatingPointIeee754<T> => i =>
    {
        var (name, p) = parameters[i];
        var g = gradients[name];
        if (!Shapes.Equal(g.Dims, p.Dims)) throw new ArgumentException($"gradient of {name} has shape {Shapes.Format(g.Dims)}, the parameter {Shapes.Format(p.Dims)}");
        return g.Buffer;
    };

    private (OptimizerState<T> State, bool Finite) Apply<T>(Parameters<T> parameters, Parameters<T> next, Func<int, ReadOnlySpan<T>> gradients, T scale, OptimizerState<T> state)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        long step = state.Step + 1;
        bool finite = true;
        for (int i = 0; i < parameters.Count; i++)
        {
            var (name, p) = parameters[i];
            var g = gradients(i);
            if (g.Length != p.Length) throw new ArgumentException($"gradient of {name} has {g.Length} elements, the parameter {p.Length}");
            Span<T> s0 = SlotNames.Count > 0 ? state.Slots[SlotKey(name, SlotNames[0])].Buffer : default;
            Span<T> s1 = SlotNames.Count > 1 ? state.Slots[SlotKey(name, SlotNames[1])].Buffer : default;
            finite &= Update<T>(p.Buffer, next[i].Value.Buffer, g, scale, s0, s1, step);
        }
        return (state with { Step = step }, finite);
    }
}

/// <summary>PyTorch's SGD: weight decay added to the gradient, optional (Nesterov) momentum without dampening.</summary>
public sealed record Sgd(double LearningRate, double Momentum = 0, bool Nesterov = false, double WeightDecay = 0) : Optimizer
{
    public override IReadOnlyList<string> SlotNames => Momentum != 0 ? ["momentum"] : [];

    protected override bool Update<T>(ReadOnlySpan<T> p, Span<T> next, ReadOnlySpan<T> g, T scale, Span<T> buf, Span<T> unused, long step)
    {
        T lr = T.CreateChecked(RateAt(LearningRate, step)), wd = T.CreateChecked(WeightDecay), mu = T.CreateChecked(Momentum);
        bool momentum = Momentum != 0, decay = WeightDecay != 0, first = step == 1;
        // d = g scale + wd p; with momentum buf = mu buf + d (buf = d at the first step, as PyTorch) and
        // d = buf, or d + mu buf for Nesterov; next = p - lr d. The vector and the element loops do the same.
        var check = Vector<T>.Zero; // g·0: 0 while g is finite, NaN from a NaN or infinity on
        T tail = T.Zero;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
            for (; i <= p.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var vp = new Vector<T>(p[i..]);
                var vg = new Vector<T>(g[i..]);
                check += vg * T.Zero;
                var d = vg * scale;
                if (decay) d += vp * wd;
                if (momentum)
                {
                    var b = first ? d : new Vector<T>(buf[i..]) * mu + d;
                    b.CopyTo(buf[i..]);
                    d = Nesterov ? d + b * mu : b;
                }
                (vp + d * -lr).CopyTo(next[i..]);
            }
        for (; i < p.Length; i++)
        {
            tail += g[i] * T.Zero;
            T d = g[i] * scale;
            if (decay) d += p[i] * wd;
            if (momentum)
            {
                buf[i] = first ? d : buf[i] * mu + d;
                d = Nesterov ? d + buf[i] * mu : buf[i];
            }
            next[i] = p[i] + d * -lr;
        }
        return !T.IsNaN(Vector.Sum(check) + tail);
    }
}

/// <summary>Adam (Kingma and Ba), with bias correction, as PyTorch's torch.optim.Adam.</summary>
public sealed record Adam(double LearningRate = 1e-3, double Beta1 = 0.9, double Beta2 = 0.999, double Epsilon = 1e-8, double WeightDecay = 0) : Optimizer
{
    public override IReadOnlyList<string> SlotNames => ["m", "v"];

    protected override bool Update<T>(ReadOnlySpan<T> p, Span<T> next, ReadOnlySpan<T> g, T scale, Span<T> m, Span<T> v, long step)
    {
        T b1 = T.CreateChecked(Beta1), b2 = T.CreateChecked(Beta2), wd = T.CreateChecked(WeightDecay), eps = T.CreateChecked(Epsilon);
        T stepSize = T.CreateChecked(RateAt(LearningRate, step) / (1 - Math.Pow(Beta1, step)));
        T correction2 = T.CreateChecked(Math.Sqrt(1 - Math.Pow(Beta2, step)));
        T oneMinusB1 = T.One - b1, oneMinusB2 = T.One - b2;
        var check = Vector<T>.Zero; // as in Sgd
        T tail = T.Zero;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
            for (; i <= p.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var vp = new Vector<T>(p[i..]);
                var vg = new Vector<T>(g[i..]);
                check += vg * T.Zero;
                var grad = vg * scale + vp * wd;
                var vm = new Vector<T>(m[i..]) * b1 + grad * oneMinusB1;
                var vv = new Vector<T>(v[i..]) * b2 + grad * grad * oneMinusB2;
                vm.CopyTo(m[i..]);
                vv.CopyTo(v[i..]);
                (vp - vm * stepSize / (Vector.SquareRoot(vv) / correction2 + new Vector<T>(eps))).CopyTo(next[i..]);
            }
        // The same operations, in the same order, for the elements left over.
        for (; i < p.Length; i++)
        {
            tail += g[i] * T.Zero;
            T grad = g[i] * scale + p[i] * wd;
            m[i] = m[i] * b1 + grad * oneMinusB1;
            v[i] = v[i] * b2 + grad * grad * oneMinusB2;
            next[i] = p[i] - m[i] * stepSize / (T.Sqrt(v[i]) / correction2 + eps);
        }
        return !T.IsNaN(Vector.Sum(check) + tail);
    }
}
