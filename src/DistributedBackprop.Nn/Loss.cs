using System.Numerics;
using DistributedBackprop.Core;
using static DistributedBackprop.Core.Expr;

namespace DistributedBackprop.Nn;

/// <summary>
/// Losses as graph builders. Each comes as a mean (PyTorch's default reduction) and as a per-example sum: the
/// distributed trainer adds micro-shards' sums and the optimizer scales them once by 1/batch size, so that
/// the result does not depend on how the batch was cut.
/// </summary>
public static class Loss
{
    /// <summary>Sum over examples of the per-example squared error averaged over outputs (so sum / batch = PyTorch's MSELoss).</summary>
    public static Expr MseSum(Expr prediction, Expr target) => Sum(Square(prediction - target)) / new Op.Count(target, -1);

    public static Expr Mse(Expr prediction, Expr target) => Mean(Square(prediction - target));

    /// <summary>Sum over examples of -log softmax(logits)[class], with one-hot targets [batch, classes].</summary>
    public static Expr CrossEntropySum(Expr logits, Expr oneHot) => -Sum(oneHot * LogSoftmax(logits, 1));

    /// <summary>PyTorch's CrossEntropyLoss (mean over the batch), numerically stable through log-softmax.</summary>
    public static Expr CrossEntropy(Expr logits, Expr oneHot) => -Mean(Sum(oneHot * LogSoftmax(logits, 1), 1));

    /// <summary>
    /// Sum over examples of -log softmax(logits)[class], with the classes [batch] as whole numbers: the one-hot
    /// rows are made in the graph (<see cref="Op.OneHot"/>), so the data carries one number an example and
    /// the value and gradients are <see cref="CrossEntropySum"/>'s with one-hot targets, bit for bit.
    /// </summary>
    public static Expr CrossEntropyFromClassesSum(Expr logits, Expr classes) => CrossEntropySum(logits, Expr.OneHot(classes, logits));

    /// <summary>PyTorch's CrossEntropyLoss with class-index targets (mean over the batch).</summary>
    public static Expr CrossEntropyFromClasses(Expr logits, Expr classes) => CrossEntropy(logits, Expr.OneHot(classes, logits));

    /// <summary>Sum over examples of the per-example absolute error averaged over outputs (sum / batch = PyTorch's L1Loss).</summary>
    public static Expr L1Sum(Expr prediction, Expr target) => Sum(Abs(prediction - target)) / new Op.Count(target, -1);

    /// <summary>PyTorch's L1Loss: the mean absolute error.</summary>
    public static Expr L1(Expr prediction, Expr target) => Mean(Abs(prediction - target));

    /// <summary>Sum over examples of the per-example Huber loss averaged over outputs (sum / batch = PyTorch's HuberLoss).</summary>
    public static Expr HuberSum(Expr prediction, Expr target, double delta = 1.0) => Sum(HuberOf(prediction - target, delta)) / new Op.Count(target, -1);

    /// <summary>PyTorch's HuberLoss(delta): ½ d² where |d| &lt; delta, delta (|d| - ½ delta) beyond, averaged.</summary>
    public static Expr Huber(Expr prediction, Expr target, double delta = 1.0) => Mean(HuberOf(prediction - target, delta));

    // With a = |d| and q = min(a, delta): ½ q² + delta (a - q). Both pieces and their slopes meet at a = delta,
    // so minimum's split gradient at the tie is the true one, delta.
    private static Expr HuberOf(Expr d, double delta)
    {
        if (!(delta > 0)) throw new ArgumentException($"Huber's delta must be positive, got {delta}");
        var a = Abs(d);
        var q = Minimum(a, delta);
        return 0.5 * Square(q) + delta * (a - q);
    }

    /// <summary>
    /// Sum over examples of binary cross-entropy on logits, averaged over outputs (sum / batch = PyTorch's
    /// BCEWithLogitsLoss): max(x, 0) - x y + log(1 + e^-|x|), computed as softplus(x) - x y so that the
    /// gradient is sigmoid(x) - y everywhere, PyTorch's (max and |x| written out have no slope at 0 and would
    /// give -y there instead of ½ - y).
    /// </summary>
    public static Expr BceWithLogitsSum(Expr logits, Expr targets) => Sum(Softplus(logits) - logits * targets) / new Op.Count(targets, -1);

    /// <summary>PyTorch's BCEWithLogitsLoss (mean over all elements).</summary>
    public static Expr BceWithLogits(Expr logits, Expr targets) => Mean(Softplus(logits) - logits * targets);

    /// <summary>Class indices as the whole numbers <see cref="CrossEntropyFromClasses"/> reads, one an example.</summary>
    public static Tensor<T> Classes<T>(IReadOnlyList<int> classes) where T : unmanaged, IFloatingPointIeee754<T> =>
        new(classes.Select(c => T.CreateChecked(c)).ToArray(), [classes.Count]);

    public static Tensor<T> OneHot<T>(IReadOnlyList<int> classes, int count) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var data = new T[classes.Count * count];
        for (int i = 0; i < classes.Count; i++)
        {
            if ((uint)classes[i] >= (uint)count) throw new ArgumentException($"class {classes[i]} is outside 0..{count - 1}");
            data[i * count + classes[i]] = T.One;
        }
        return new Tensor<T>(data, [classes.Count, count]);
    }
}
