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
