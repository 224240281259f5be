using System.Numerics;

namespace DistributedBackprop.Training;

/// <summary>
/// A node of the fixed binary tree over a step's micro-shards 0..n-1: the consecutive shards
/// [<paramref name="First"/>, <paramref name="First"/> + <paramref name="Count"/>), aligned to its level's
/// width. A node whose right half would lie past shard n-1 is its left half: the tree has no empty nodes.
/// </summary>
public readonly record struct ShardNode(int First, int Count)
{
    /// <summary>The node's height: a leaf is 0, a node of 2^k leaves (or of more than 2^(k-1), at the right edge) is k.</summary>
    public int Level => Count <= 1 ? 0 : 32 - BitOperations.LeadingZeroCount((uint)(Count - 1));

    public int End => First + Count;

    /// <summary>Whether this node is the left sibling of <paramref name="right"/>: same level, next to it, at an even position.</summary>
    public bool IsLeftSiblingOf(ShardNode right) =>
        Level == right.Level && right.First == End && First % (2 << Level) == 0;
}

/// <summary>
/// Where a minibatch's gradient is formed: the sums of its micro-shards' gradients are added along a fixed
/// binary tree over their indices — ((s0 + s1) + (s2 + s3)) + s4, never in arrival order — so the bits
/// depend on the micro-shards alone, not on which worker summed which subtree. A worker sums the shards it
/// was given into the subtree they form and sends it once; the server adds the workers' subtrees; the
/// single-process loop adds every shard; all three add the same numbers in the same order.
/// </summary>
public static class ShardTree
{
    /// <summary>Whether [first, first + count) is a node of the tree over <paramref name="shards"/> shards.</summary>
    public static bool IsNode(int first, int count, int shards)
    {
        if (count <= 0 || first < 0 || first > shards - count) return false;
        var node = new ShardNode(first, count);
        int width = 1 << node.Level;
        // Aligned to its width, and full unless it ends the step (only the right edge is ragged).
        return first % width == 0 && (count == width || first + count == shards) && (node.Level == 0 || count > width / 2);
    }

    /// <summary>
    /// The step's shards cut into at most <paramref name="parts"/> nodes, in order: the whole tree, split at the
    /// node with the most shards until there are enough (the first of equals). One node a worker means one
    /// gradient a worker.
    /// </summary>
    public static ShardNode[] Partition(int shards, int parts)
    {
        if (shards <= 0) throw new ArgumentOutOfRangeException(nameof(shards), "a step has at least one micro-shard");
        var nodes = new List<ShardNode> { new(0, shards) };
        while (nodes.Count < Math.Max(1, parts))
        {
            int widest = 0;
            for (int i = 1; i < nodes.Count; i++) if (nodes[i].Count > nodes[widest].Count) widest = i;
            var node = nodes[widest];
            if (node.Count == 1) break;
            int half = 1 << (node.Level - 1);
            nodes[widest] = new ShardNode(node.First, half);
            // The right half is a node as it is: full, or ragged where the step ends.
            nodes.Insert(widest + 1, new ShardNode(node.First + half, node.Count - half));
        }
        return [.. nodes];
    }
}
