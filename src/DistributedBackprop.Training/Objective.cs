using DistributedBackprop.Core;
using DistributedBackprop.Data;
using DistributedBackprop.Nn;

namespace DistributedBackprop.Training;

/// <summary>
/// The losses a model can be trained with: MSE, L1 and Huber on regression targets, cross-entropy and binary
/// cross-entropy with logits on one-hot class rows.
/// </summary>
public enum LossKind { Mse, CrossEntropy, L1, Huber, BceWithLogits }

/// <summary>
/// What is minimised: a model and a loss over a batch of inputs <c>x</c> and targets <c>y</c> (one-hot rows
/// for classification). The loss is built as a per-example sum so that micro-shards add up to the batch's
/// sum. A model with dropout draws its masks from (<see cref="Seed"/>, step, example), so the objective of a
/// step is the same function wherever it is computed. <see cref="Card"/> says what the inputs and outputs
/// mean (feature names and scaling, class names): a checkpoint keeps it, so the model can be used alone.
/// </summary>
public sealed record Objective(Sequential Model, LossKind Loss)
{
    public Op.Variable X { get; } = Expr.Variable("x", requiresGrad: false);
    public Op.Variable Y { get; } = Expr.Variable("y", requiresGrad: false);

    /// <summary>Huber's delta (PyTorch's default 1), read only by <see cref="LossKind.Huber"/>.</summary>
    public double HuberDelta { get; init; } = 1.0;

    /// <summary>The seed dropout masks are drawn from (the run's seed).</summary>
    public int Seed { get; init; }

    /// <summary>What the model's inputs and outputs are; null where nobody said.</summary>
    public DataCard? Card { get; init; }

    /// <summary>The graph in training mode: dropout multiplies by its mask variables, which each step binds.</summary>
    public Expr Prediction => Model.Forward(X);

    /// <summary>The graph in evaluation mode (PyTorch's <c>model.eval()</c>): for accuracy, predictions and export.</summary>
    public Expr Evaluation => Model.Forward(X, training: false);

    public Expr LossSum(Expr prediction) => Loss switch
    {
        LossKind.Mse => Nn.Loss.MseSum(prediction, Y),
        LossKind.CrossEntropy => Nn.Loss.CrossEntropySum(prediction, Y),
        LossKind.L1 => Nn.Loss.L1Sum(prediction, Y),
        LossKind.Huber => Nn.Loss.HuberSum(prediction, Y, HuberDelta),
        LossKind.BceWithLogits => Nn.Loss.BceWithLogitsSum(prediction, Y),
        _ => throw new System.Diagnostics.UnreachableException(),
    };

    /// <summary>Whether the loss reads class rows (one-hot targets) rather than numbers.</summary>
    public static bool IsClassification(LossKind loss) => loss is LossKind.CrossEntropy or LossKind.BceWithLogits;

    /// <summary>The loss as the settings' fingerprint names it: the enum's name, with Huber's delta.</summary>
    public string LossText => Loss == LossKind.Huber ? $"Huber({HuberDelta:R})" : Loss.ToString();

    /// <summary>The names the command line and checkpoints use.</summary>
    public static readonly IReadOnlyList<(string Name, LossKind Kind)> LossNames =
        [("mse", LossKind.Mse), ("l1", LossKind.L1), ("huber", LossKind.Huber), ("cross-entropy", LossKind.CrossEntropy), ("bce-with-logits", LossKind.BceWithLogits)];

    public static string NameOf(LossKind kind) => LossNames.Single(n => n.Kind == kind).Name;
}
