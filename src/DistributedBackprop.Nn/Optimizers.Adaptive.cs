using System.Numerics;
using System.Runtime.CompilerServices;

namespace DistributedBackprop.Nn;

/// <summary>
/// AdamW (Loshchilov and Hutter) as PyTorch's torch.optim.AdamW: Adam whose weight decay is decoupled from
/// the gradient — each step first shrinks the parameter by 1 - lr·weight_decay — with PyTorch's defaults.
/// </summary>
public sealed record AdamW(double LearningRate = 1e-3, double Beta1 = 0.9, double Beta2 = 0.999, double Epsilon = 1e-8, double WeightDecay = 0.01) : Optimizer
{
    public override string Kind => "adamw";
    public override IReadOnlyList<string> SlotNames => ["m", "v"];

    protected override bool Update<T>(ReadOnlySpan<T> p, Span<T> next, Gradient<T> g, T scale, Span<T> m, Span<T> v, long step) =>
        Adam.AdamPass(p, next, g, scale, m, v, step, RateAt(LearningRate, step), Beta1, Beta2, Epsilon, l2: 0, decoupledDecay: WeightDecay);
}

/// <summary>
/// RMSprop as PyTorch's torch.optim.RMSprop (not centered): square_avg = α square_avg + (1 - α) g², then
/// p -= lr g / (√square_avg + ε), or with momentum buf = μ buf + g / (√square_avg + ε) and p -= lr buf.
/// Weight decay is added to the gradient. Centered RMSprop would need a third slot and is left out.
/// </summary>
public sealed record RMSprop(double LearningRate = 0.01, double Alpha = 0.99, double Epsilon = 1e-8, double WeightDecay = 0, double Momentum = 0) : Optimizer
{
    public override string Kind => "rmsprop";
    public override IReadOnlyList<string> SlotNames => Momentum != 0 ? ["square_avg", "momentum"] : ["square_avg"];

    protected override bool Update<T>(ReadOnlySpan<T> p, Span<T> next, Gradient<T> g, T scale, Span<T> squareAvg, Span<T> buf, long step)
    {
        T alpha = T.CreateChecked(Alpha);
        var rule = new Rule<T>
        {
            SquareAvg = squareAvg, Buf = buf, Lr = T.CreateChecked(RateAt(LearningRate, step)), Alpha = alpha, OneMinusAlpha = T.One - alpha,
            Eps = T.CreateChecked(Epsilon), Mu = T.CreateChecked(Momentum), Momentum = Momentum != 0,
        };
        return Pass(p, next, g, scale, T.CreateChecked(WeightDecay), WeightDecay != 0, ref rule);
    }

    private ref struct Rule<T> : IUpdateRule<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Span<T> SquareAvg, Buf;
        public T Lr, Alpha, OneMinusAlpha, Eps, Mu;
        public bool Momentum;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector<T> Next(int i, Vector<T> p, Vector<T> grad)
        {
            var s = new Vector<T>(SquareAvg[i..]) * Alpha + grad * grad * OneMinusAlpha;
            s.CopyTo(SquareAvg[i..]);
            var d = grad / (Vector.SquareRoot(s) + new Vector<T>(Eps));
            if (Momentum)
            {
                d = new Vector<T>(Buf[i..]) * Mu + d;
                d.CopyTo(Buf[i..]);
            }
            return p + d * -Lr;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public T Next(int i, T p, T grad)
        {
            SquareAvg[i] = SquareAvg[i] * Alpha + grad * grad * OneMinusAlpha;
            T d = grad / (T.Sqrt(SquareAvg[i]) + Eps);
            if (Momentum) d = Buf[i] = Buf[i] * Mu + d;
            return p + d * -Lr;
        }
    }
}
