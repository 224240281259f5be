using DistributedBackprop.Core;
using DistributedBackprop.Nn;

namespace DistributedBackprop.Training;

public enum LossKind { Mse, CrossEntropy }

/// <summary>
/// What is minimised: a model and a loss over a batch of inputs <c>x</c> and targets <c>y</c> (one-hot rows
/// for cross-entropy). The loss is built as a per-example sum so that micro-shards add up to the batch's sum.
/// </summary>
public sealed record Objective(Sequential Model, LossKind Loss)
{
    public Op.Variable X { get; } = Expr.Variable("x", requiresGrad: false);
    public Op.Variable Y { get; } = Expr.Variable("y", requiresGrad: false);

    public Expr Prediction => Model.Forward(X);

    public Expr LossSum(Expr prediction) => Loss switch
    {
        LossKind.Mse => Nn.Loss.MseSum(prediction, Y),
        LossKind.CrossEntropy => Nn.Loss.CrossEntropySum(prediction, Y),
        _ => throw new System.Diagnostics.UnreachableException(),
    };
}
