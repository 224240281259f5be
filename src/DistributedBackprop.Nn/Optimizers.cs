using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;
using DistributedBackprop.Core;

namespace DistributedBackprop.Nn;

/// <summary>An optimizer's state: how many steps it has taken and its per-parameter slots (momentum, Adam's moments).</summary>
public sealed record OptimizerState<T>(long Step, Parameters<T> Slots) where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>
/// A parameter's gradient as an optimizer's pass reads it: one span, or two added element by element as they
/// are read — a tree sum's last addition (TreeSum.FinishPair), fused into the step so
/// the sum is never written out and read back. The same bits either way: each element is the one float
/// addition the tree would have made.
/// </summary>
public readonly ref struct Gradient<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly ReadOnlySpan<T> _first, _second;
    private readonly bool _paired;

    private Gradient(ReadOnlySpan<T> first, ReadOnlySpan<T> second, bool paired)
    {
        _first = first;
        _second = second;
        _paired = paired;
    }

    /// <summary><paramref name="first"/> + <paramref name="second"/>, of the same length.</summary>
    public static Gradient<T> Sum(ReadOnlySpan<T> first, ReadOnlySpan<T> second) => first.Length == second.Length ? new(first, second, true)
        : throw new ArgumentException($"the two halves of a gradient have {first.Length} and {second.Length} elements");

    public static implicit operator Gradient<T>(ReadOnlySpan<T> g) => new(g, default, false);

    public int Length => _first.Length;

    public T this[int i] => _paired ? _first[i] + _second[i] : _first[i];

    public Vector<T> VectorAt(int i) => _paired ? new Vector<T>(_first[i..]) + new Vector<T>(_second[i..]) : new Vector<T>(_first[i..]);

    // The parts, for passes that read them their own way.
    public ReadOnlySpan<T> First => _first;
    public ReadOnlySpan<T> Second => _second;
    public bool Paired => _paired;
}

/// <summary>
/// An optimizer as a pure step <c>(parameters, gradients, state) -> (parameters, state)</c>. The arithmetic
/// is one in-place kernel per optimizer that reads each gradient element scaled by a factor: 1 for a mean
/// gradient, 1/n for a sum over n examples, so that a trainer hands over its gradient sums and the mean is
/// never written out. <see cref="Step{T}(Parameters{T}, Parameters{T}, OptimizerState{T})"/> runs it on
/// copies; a trainer that owns its buffers runs <see cref="StepInPlace{T}"/> and allocates nothing. The same
/// pass checks that every gradient element is finite: a step from sums says so, and a caller throws away
/// what a non-finite step wrote.
/// </summary>
public abstract partial record Optimizer
{
    /// <summary>Names of the per-parameter state slots, e.g. "momentum".</summary>
    public abstract IReadOnlyList<string> SlotNames { get; }

    /// <summary>The optimizer's name (sgd, momentum, adam, ...): part of the settings' text a checkpoint's fingerprint hashes.</summary>
    public abstract string Kind { get; }

    /// <summary>
    /// One parameter's update from <paramref name="p"/> into <paramref name="next"/> — the same span when in
    /// place, so every read of the old value comes before its element is written — with the gradient
    /// <paramref name="g"/>·<paramref name="scale"/>; slots are updated in place; <paramref name="step"/> counts from 1.
    /// Returns whether every element of <paramref name="g"/> is finite.
    /// </summary>
    protected abstract bool Update<T>(ReadOnlySpan<T> p, Span<T> next, Gradient<T> g, T scale, Span<T> slot0, Span<T> slot1, long step) where T : unmanaged, IFloatingPointIeee754<T>;

    public static string SlotKey(string parameter, string slot) => parameter + "#" + slot;

    /// <summary>How the learning rate moves with the step; null keeps it constant.</summary>
    public Schedule? Schedule { get; init; }

    /// <summary>
    /// Over how many steps the learning rate anneals to 0 along a half cosine; 0 keeps it constant. Shorthand
    /// for <see cref="Schedule"/> = <see cref="Schedule.Cosine"/>; setting 0 removes a cosine schedule only.
    /// </summary>
    public long CosineSteps
    {
        get => Schedule is Schedule.Cosine c ? c.Steps : 0;
        init => Schedule = value > 0 ? new Schedule.Cosine(value) : Schedule is Schedule.Cosine ? null : Schedule;
    }

    /// <summary>The learning rate of step <paramref name="step"/> (from 1): a pure function of the step, so every engine agrees.</summary>
    protected double RateAt(double baseRate, long step) => Schedule?.Rate(baseRate, step) ?? baseRate;

    /// <summary>
    /// The members a record prints, as the compiler printed them before schedules and clipping — checkpoints
    /// fingerprint the settings by this text — and the newer settings only where they are set.
    /// </summary>
    protected virtual bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Kind = ").Append(Kind).Append(", SlotNames = ").Append(SlotNames).Append(", CosineSteps = ").Append(CosineSteps);
        if (Schedule is not null and not Schedule.Cosine) builder.Append(", Schedule = ").Append(Schedule);
        if (MaxGradNorm != 0) builder.Append(", MaxGradNorm = ").Append(MaxGradNorm);
        return true;
    }

    public OptimizerState<T> Init<T>(Parameters<T> parameters) where T : unmanaged, IFloatingPointIeee754<T> =>
        new(0, new Parameters<T>(parameters.SelectMany(p => SlotNames.Select(s => (SlotKey(p.Name, s), Tensor<T>.Zeros(p.Value.Dims))))));

    /// <summary>A step with mean gradients, by name, on copies.</summary>
    public (Parameters<T> Parameters, OptimizerState<T> State) Step<T>(Parameters<T> parameters, Parameters<T> gradients, OptimizerState<T> state)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (next, s) = Copies(parameters, state);
        return (next, Apply(parameters, next, ByName(parameters, gradients), null, T.One, s).State);
    }

    /// <summary>
    /// A step with the gradient sums over <paramref name="count"/> examples, <paramref name="sums"/>(i) for
    /// parameter i, on copies: the parameter server's step. Null when a gradient element is not finite.
    /// </summary>
    public (Parameters<T> Parameters, OptimizerState<T> State)? Step<T>(Parameters<T> parameters, Func<int, ReadOnlySpan<T>> sums, int count, OptimizerState<T> state)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var (next, s) = Copies(parameters, state);
        return Apply(parameters, next, sums, null, Scale<T>(count), s) is (var after, true) ? (next, after) : null;
    }

    /// <summary>
    /// A step with the gradient sums over <paramref name="count"/> examples, written into
    /// <paramref name="parameters"/>' and the state's own buffers: only for tensors the caller owns. Null when
    /// a gradient element is not finite; the buffers then hold a half-made step and must be thrown away.
    /// </summary>
    /// <remarks><paramref name="addends"/>, where given: each gradient is sums(i) + addends(i), added as the pass reads them (<see cref="Gradient{T}"/>).</remarks>
    public OptimizerState<T>? StepInPlace<T>(Parameters<T> parameters, Func<int, ReadOnlySpan<T>> sums, int count, OptimizerState<T> state, Func<int, ReadOnlySpan<T>>? addends = null)
        where T : unmanaged, IFloatingPointIeee754<T> => Apply(parameters, parameters, sums, addends, Scale<T>(count), state) is (var after, true) ? after : null;

    /// <summary>
    /// A step with the gradient sums over <paramref name="count"/> examples from <paramref name="parameters"/>
    /// into <paramref name="next"/> (the caller's buffers, of the same shapes), the state's slots updated in
    /// place: a parameter server's step into its next version while workers still read the current one. Null
    /// when a gradient element is not finite; <paramref name="next"/> and the slots then hold a half-made step.
    /// </summary>
    /// <remarks><paramref name="addends"/>, where given: each gradient is sums(i) + addends(i), added as the pass reads them (<see cref="Gradient{T}"/>).</remarks>
    public OptimizerState<T>? StepInto<T>(Parameters<T> parameters, Parameters<T> next, Func<int, ReadOnlySpan<T>> sums, int count, OptimizerState<T> state, Func<int, ReadOnlySpan<T>>? addends = null)
        where T : unmanaged, IFloatingPointIeee754<T> => Apply(parameters, next, sums, addends, Scale<T>(count), state) is (var after, true) ? after : null;

    /// <summary>
    /// Buffers for a step on copies: new parameters, written straight from the old ones by the step (one pass,
    /// not a copy and then an update), and copies of the slots, which the step updates in place.
    /// </summary>
    private static (Parameters<T> Next, OptimizerState<T> State) Copies<T>(Parameters<T> parameters, OptimizerState<T> state)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        (parameters.Map((_, t) => Tensor<T>.Zeros([.. t.Shape])),
         new OptimizerState<T>(state.Step, state.Slots.Copy()));

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

    /// <summary>Parameter <paramref name="i"/>'s gradient: its sum, plus its addend where there are addends.</summary>
    private static Gradient<T> GradientAt<T>(Func<int, ReadOnlySpan<T>> gradients, Func<int, ReadOnlySpan<T>>? addends, int i)
        where T : unmanaged, IFloatingPointIeee754<T> => addends is null ? gradients(i) : Gradient<T>.Sum(gradients(i), addends(i));

    private (OptimizerState<T> State, bool Finite) Apply<T>(Parameters<T> parameters, Parameters<T> next, Func<int, ReadOnlySpan<T>> gradients, Func<int, ReadOnlySpan<T>>? addends, T scale, OptimizerState<T> state)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        long step = state.Step + 1;
        bool finite = true;
        if (MaxGradNorm > 0) scale = ClippedScale(parameters.Count, gradients, addends, scale);
        for (int i = 0; i < parameters.Count; i++)
        {
            var (name, p) = parameters[i];
            var g = GradientAt(gradients, addends, i);
            if (g.Length != p.Length) throw new ArgumentException($"gradient of {name} has {g.Length} elements, the parameter {p.Length}");
            Span<T> s0 = SlotNames.Count > 0 ? state.Slots[SlotKey(name, SlotNames[0])].Buffer : default;
            Span<T> s1 = SlotNames.Count > 1 ? state.Slots[SlotKey(name, SlotNames[1])].Buffer : default;
            finite &= Update<T>(p.Buffer, next[i].Value.Buffer, g, scale, s0, s1, step);
        }
        return (state with { Step = step }, finite);
    }

    /// <summary>
    /// One optimizer's arithmetic for a vector of elements and for one element, given the parameter and its
    /// gradient (scaled, weight decay added): it reads and writes its own slots at index <c>i</c> and returns
    /// the next parameter value. The two forms do the same operations in the same order.
    /// </summary>
    protected interface IUpdateRule<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        Vector<T> Next(int i, Vector<T> p, Vector<T> grad);
        T Next(int i, T p, T grad);
    }

    /// <summary>
    /// The one pass every optimizer makes over a parameter: grad = g·scale (+ weightDecay·p where
    /// <paramref name="decay"/>), the rule's next value written to <paramref name="next"/> (which may be
    /// <paramref name="p"/>: the rule is handed p's value before its element is written), vectors first and the
    /// elements left over one by one; and the finite check folded in. Returns whether g is finite.
    /// </summary>
    protected static bool Pass<T, TRule>(ReadOnlySpan<T> p, Span<T> next, Gradient<T> g, T scale, T weightDecay, bool decay, ref TRule rule)
        where T : unmanaged, IFloatingPointIeee754<T> where TRule : struct, IUpdateRule<T>, allows ref struct
    {
        var check = Vector<T>.Zero; // g·0: 0 while g is finite, NaN from a NaN or infinity on
        var check2 = Vector<T>.Zero; // a second chain: one add's latency per vector was the pass's pace
        T tail = T.Zero;
        int i = 0, w = Vector<T>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= p.Length - 2 * w; i += 2 * w)
            {
                var vp = new Vector<T>(p[i..]);
                var vg = g.VectorAt(i);
                var vp2 = new Vector<T>(p[(i + w)..]);
                var vg2 = g.VectorAt(i + w);
                check += vg * T.Zero;
                check2 += vg2 * T.Zero;
                var grad = vg * scale;
                var grad2 = vg2 * scale;
                if (decay) { grad += vp * weightDecay; grad2 += vp2 * weightDecay; }
                rule.Next(i, vp, grad).CopyTo(next[i..]);
                rule.Next(i + w, vp2, grad2).CopyTo(next[(i + w)..]);
            }
            for (; i <= p.Length - w; i += w)
            {
                var vp = new Vector<T>(p[i..]);
                var vg = g.VectorAt(i);
                check += vg * T.Zero;
                var grad = vg * scale;
                if (decay) grad += vp * weightDecay;
                rule.Next(i, vp, grad).CopyTo(next[i..]);
            }
        }
        for (; i < p.Length; i++)
        {
            T gi = g[i];
            tail += gi * T.Zero;
            T grad = gi * scale;
            if (decay) grad += p[i] * weightDecay;
            next[i] = rule.Next(i, p[i], grad);
        }
        return !T.IsNaN(Vector.Sum(check + check2) + tail);
    }
}

/// <summary>PyTorch's SGD: weight decay added to the gradient, optional (Nesterov) momentum without dampening.</summary>
public sealed record Sgd(double LearningRate, double Momentum = 0, bool Nesterov = false, double WeightDecay = 0) : Optimizer
{
    public override string Kind => Nesterov ? "nesterov" : Momentum != 0 ? "momentum" : "sgd";
    public override IReadOnlyList<string> SlotNames => Momentum != 0 ? ["momentum"] : [];

    protected override bool Update<T>(ReadOnlySpan<T> p, Span<T> next, Gradient<T> g, T scale, Span<T> buf, Span<T> unused, long step)
    {
        var rule = new Rule<T>
        {
            Buf = buf, Lr = T.CreateChecked(RateAt(LearningRate, step)), Mu = T.CreateChecked(Momentum),
            Momentum = Momentum != 0, Nesterov = Nesterov, First = step == 1,
        };
        return Pass(p, next, g, scale, T.CreateChecked(WeightDecay), WeightDecay != 0, ref rule);
    }

    // d = g scale + wd p; with momentum buf = mu buf + d (buf = d at the first step, as PyTorch) and
    // d = buf, or d + mu buf for Nesterov; next = p - lr d.
    private ref struct Rule<T> : IUpdateRule<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Span<T> Buf;
        public T Lr, Mu;
        public bool Momentum, Nesterov, First;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector<T> Next(int i, Vector<T> p, Vector<T> d)
        {
            if (Momentum)
            {
                var b = First ? d : new Vector<T>(Buf[i..]) * Mu + d;
                b.CopyTo(Buf[i..]);
                d = Nesterov ? d + b * Mu : b;
            }
            return p + d * -Lr;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Next(int i, T p, T d)
        {
            if (Momentum)
            {
                Buf[i] = First ? d : Buf[i] * Mu + d;
                d = Nesterov ? d + Buf[i] * Mu : Buf[i];
            }
            return p + d * -Lr;
        }
    }
}

/// <summary>Adam (Kingma and Ba), with bias correction, as PyTorch's torch.optim.Adam.</summary>
public sealed record Adam(double LearningRate = 1e-3, double Beta1 = 0.9, double Beta2 = 0.999, double Epsilon = 1e-8, double WeightDecay = 0) : Optimizer
{
    public override string Kind => "adam";
    public override IReadOnlyList<string> SlotNames => ["m", "v"];

    protected override bool Update<T>(ReadOnlySpan<T> p, Span<T> next, Gradient<T> g, T scale, Span<T> m, Span<T> v, long step) =>
        AdamPass(p, next, g, scale, m, v, step, RateAt(LearningRate, step), Beta1, Beta2, Epsilon, WeightDecay, decoupledDecay: 0);

    /// <summary>
    /// Adam's pass, shared with <see cref="AdamW"/>: weight decay <paramref name="l2"/> added to the gradient
    /// (Adam; added even when 0, as it always was), or the parameter first shrunk by
    /// 1 - lr·<paramref name="decoupledDecay"/> (AdamW).
    /// </summary>
    internal static bool AdamPass<T>(ReadOnlySpan<T> p, Span<T> next, Gradient<T> g, T scale, Span<T> m, Span<T> v, long step,
        double rate, double beta1, double beta2, double epsilon, double l2, double decoupledDecay) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T b1 = T.CreateChecked(beta1), b2 = T.CreateChecked(beta2);
        var rule = new Rule<T>
        {
            M = m, V = v, B1 = b1, B2 = b2, OneMinusB1 = T.One - b1, OneMinusB2 = T.One - b2, Eps = T.CreateChecked(epsilon),
            StepSize = T.CreateChecked(rate / (1 - Math.Pow(beta1, step))),
            Correction2 = T.CreateChecked(Math.Sqrt(1 - Math.Pow(beta2, step))),
            Decoupled = decoupledDecay != 0, Keep = T.CreateChecked(1 - rate * decoupledDecay),
        };
        return Pass(p, next, g, scale, T.CreateChecked(l2), decay: decoupledDecay == 0, ref rule);
    }

    private ref struct Rule<T> : IUpdateRule<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Span<T> M, V;
        public T B1, B2, OneMinusB1, OneMinusB2, Eps, StepSize, Correction2, Keep;
        public bool Decoupled;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector<T> Next(int i, Vector<T> p, Vector<T> grad)
        {
            var vm = new Vector<T>(M[i..]) * B1 + grad * OneMinusB1;
            var vv = new Vector<T>(V[i..]) * B2 + grad * grad * OneMinusB2;
            vm.CopyTo(M[i..]);
            vv.CopyTo(V[i..]);
            return (Decoupled ? p * Keep : p) - vm * StepSize / (Vector.SquareRoot(vv) / Correction2 + new Vector<T>(Eps));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Next(int i, T p, T grad)
        {
            M[i] = M[i] * B1 + grad * OneMinusB1;
            V[i] = V[i] * B2 + grad * grad * OneMinusB2;
            return (Decoupled ? p * Keep : p) - M[i] * StepSize / (T.Sqrt(V[i]) / Correction2 + Eps);
        }
    }
}
