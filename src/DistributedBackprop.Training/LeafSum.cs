namespace DistributedBackprop.Training;

/// <summary>Where a node's micro-shards come from: leaf <c>leaf</c>'s examples run on the plan given, its summed loss and example count back.</summary>
public interface ILeafSource
{
    (double LossSum, int Examples) Run(ShardGradient plan, int leaf);
}

/// <summary>
/// Runs the micro-shards of a node of the <see cref="ShardTree"/> and adds them along it into a
/// <see cref="TreeSum"/>, on two plans in turn: a leaf and its right sibling each keep their gradient in a
/// plan of their own, and the pair goes into the tree as one sum (<see cref="TreeSum.AddSiblings"/>), where
/// one plan would have had its first gradient copied out before the second overwrote it. The same bits.
/// </summary>
public sealed class LeafSum(Objective objective, GradientPool pool)
{
    private readonly ShardGradient[] _plans = [new(objective), new(objective)]; // a plan is compiled on first use
    private Func<int, ReadOnlySpan<float>>[]? _gradients; // made once: a method group allocates a delegate per use

    public TreeSum Tree { get; } = new(pool);

    /// <summary>The plan a single leaf runs on, and its gradients: a step of one micro-shard hands them over as they are.</summary>
    public ShardGradient First => _plans[0];

    public Func<int, ReadOnlySpan<float>> FirstGradient => Gradients[0];

    private Func<int, ReadOnlySpan<float>>[] Gradients => _gradients ??= [_plans[0].Gradient, _plans[1].Gradient];

    /// <summary>Runs leaves [<paramref name="first"/>, <paramref name="first"/> + <paramref name="count"/>) and adds them to the tree, in order.</summary>
    public void Add(ILeafSource source, int first, int count)
    {
        for (int i = first; i < first + count; i++)
        {
            var (leaf, next) = (new ShardNode(i, 1), new ShardNode(i + 1, 1));
            var (loss, examples) = source.Run(_plans[0], i);
            if (i + 1 < first + count && leaf.IsLeftSiblingOf(next))
            {
                var (loss2, examples2) = source.Run(_plans[1], i + 1);
                Tree.AddSiblings(leaf, Gradients[0], loss, examples, next, Gradients[1], loss2, examples2);
                i++;
            }
            else Tree.Add(leaf, Gradients[0], loss, examples);
        }
    }
}
