namespace DistributedBackprop.Core;

// The ops that layers and losses beyond one MLP are built from.
public abstract partial record Expr
{
    public static Expr Abs(Expr x) => new Op.Abs(x);
    /// <summary>Element-wise maximum with broadcasting (torch.maximum); a tie splits the gradient in halves.</summary>
    public static Expr Maximum(Expr a, Expr b) => new Op.Maximum(a, b);
    /// <summary>Element-wise minimum with broadcasting (torch.minimum); a tie splits the gradient in halves.</summary>
    public static Expr Minimum(Expr a, Expr b) => new Op.Minimum(a, b);
    public static Expr LeakyRelu(Expr x, double slope = 0.01) => new Op.LeakyRelu(x, slope);
    /// <summary>PyTorch's exact GELU, x Φ(x).</summary>
    public static Expr Gelu(Expr x) => new Op.Gelu(x);
    /// <summary>log(1 + eˣ), stably.</summary>
    public static Expr Softplus(Expr x) => new Op.Softplus(x);
    /// <summary>One-hot rows shaped like <paramref name="like"/> from class indices held as whole numbers.</summary>
    public static Expr OneHot(Expr classes, Expr like) => new Op.OneHot(classes, like);
}
