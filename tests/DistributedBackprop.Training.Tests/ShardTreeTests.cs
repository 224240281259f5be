using DistributedBackprop.Core;
using DistributedBackprop.Training;

namespace DistributedBackprop.Training.Tests;

/// <summary>The shard tree: its nodes, how a step is cut into them, and sums that do not depend on the cut.</summary>
public class ShardTreeTests
{
    [Theory]
    [InlineData(1, 1, "[0,1)")]
    [InlineData(4, 2, "[0,2) [2,4)")]
    [InlineData(4, 3, "[0,1) [1,2) [2,4)")]
    [InlineData(3, 2, "[0,2) [2,3)")]
    [InlineData(7, 3, "[0,2) [2,4) [4,7)")]
    [InlineData(6, 8, "[0,1) [1,2) [2,3) [3,4) [4,5) [5,6)")]
    [InlineData(5, 2, "[0,4) [4,5)")]
    public void A_step_is_cut_at_its_widest_node_until_every_worker_has_one(int shards, int workers, string expected)
    {
        var nodes = ShardTree.Partition(shards, workers);
        Assert.Equal(expected, string.Join(" ", nodes.Select(n => $"[{n.First},{n.End})")));
        Assert.All(nodes, n => Assert.True(ShardTree.IsNode(n.First, n.Count, shards)));
    }

    [Theory]
    [InlineData(0, 3, 3, true)]   // the root of a ragged tree
    [InlineData(2, 1, 3, true)]
    [InlineData(2, 2, 3, false)]  // past the end
    [InlineData(1, 2, 4, false)]  // not aligned
    [InlineData(4, 3, 7, true)]
    [InlineData(4, 2, 7, true)]
    [InlineData(0, 3, 7, false)]  // ragged inside the tree
    [InlineData(-1, 1, 4, false)]
    [InlineData(0, 0, 4, false)]
    public void Only_aligned_full_or_right_edge_ranges_are_nodes(int first, int count, int shards, bool node) =>
        Assert.Equal(node, ShardTree.IsNode(first, count, shards));

    /// <summary>The tree written as plainly as possible: split at the largest power of two below the width.</summary>
    private static float[] Reference(float[][] leaves, int lo, int hi)
    {
        if (hi - lo == 1) return leaves[lo];
        int half = 1;
        while (half * 2 < hi - lo) half *= 2;
        var (l, r) = (Reference(leaves, lo, lo + half), Reference(leaves, lo + half, hi));
        return l.Zip(r, (a, b) => a + b).ToArray();
    }

    private static float[][] Leaves(int n, int size, int seed)
    {
        var rng = new Rng(seed);
        // Values of very different sizes: any change in the order of the additions changes the bits.
        return Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, size).Select(_ => (float)(rng.Uniform(-1, 1) * Math.Pow(10, rng.NextInt(8)))).ToArray()).ToArray();
    }

    private static float[] SumOf(TreeSum tree, ShardNode[] nodes, float[][] leaves)
    {
        foreach (var node in nodes)
        {
            var worker = new TreeSum(tree.Pool); // each node summed on its own, as a worker does
            for (int i = node.First; i < node.End; i++) worker.Add(new ShardNode(i, 1), _ => leaves[i], 1.0, 1);
            var (buffers, sum, _, examples) = worker.Finish();
            Assert.Equal((node, node.Count), (sum, examples));
            tree.AddOwned(node, buffers, 1.0, examples);
        }
        var (result, root, _, count) = tree.Finish();
        Assert.Equal((new ShardNode(0, leaves.Length), leaves.Length), (root, count));
        return result[0];
    }

    [Fact]
    public void Every_cut_of_every_step_sums_to_the_same_bits_as_the_plain_tree()
    {
        for (int n = 1; n <= 17; n++)
        {
            var leaves = Leaves(n, 33, seed: n);
            var expected = Reference(leaves, 0, n);
            var tree = new TreeSum(new GradientPool([33]));
            var bits = new HashSet<string>();
            for (int workers = 1; workers <= n + 1; workers++)
            {
                var sum = SumOf(tree, ShardTree.Partition(n, workers), leaves);
                Assert.True(expected.AsSpan().SequenceEqual(sum), $"{n} shards over {workers} workers");
                bits.Add(string.Join(",", sum.Select(BitConverter.SingleToInt32Bits)));
            }
            Assert.Single(bits);
        }
    }

    [Fact]
    public void The_root_left_to_the_caller_adds_up_to_the_same_bits_as_the_finished_sum()
    {
        for (int n = 1; n <= 17; n++)
        {
            var leaves = Leaves(n, 33, seed: 100 + n);
            var expected = Reference(leaves, 0, n);
            var tree = new TreeSum(new GradientPool([33]));
            for (int i = 0; i < n; i++) tree.Add(new ShardNode(i, 1), _ => leaves[i], i + 0.5, 2);
            var (left, right, root, loss, examples) = tree.FinishPair();
            Assert.Equal((new ShardNode(0, n), 2 * n), (root, examples));
            Assert.Equal(n <= 2, right is null); // two leaves are added as the second comes: its spans are not the tree's to keep
            var sum = right is null ? left[0] : left[0].Zip(right[0], (a, b) => a + b).ToArray();
            Assert.True(expected.AsSpan().SequenceEqual(sum), $"{n} shards");
            Assert.Equal(Enumerable.Range(0, n).Sum(i => i + 0.5), loss, 12);
        }
    }

    [Fact]
    public void Sibling_leaves_added_as_a_pair_sum_to_the_same_bits_as_leaves_added_one_by_one()
    {
        for (int n = 2; n <= 17; n++)
        {
            var leaves = Leaves(n, 33, seed: 200 + n);
            var tree = new TreeSum(new GradientPool([33]));
            for (int i = 0; i < n; i++)
            {
                int at = i;
                if (i + 1 < n && i % 2 == 0)
                {
                    tree.AddSiblings(new ShardNode(at, 1), _ => leaves[at], 1.0, 1, new ShardNode(at + 1, 1), _ => leaves[at + 1], 1.0, 1);
                    i++;
                }
                else tree.Add(new ShardNode(at, 1), _ => leaves[at], 1.0, 1);
            }
            var (sum, root, loss, examples) = tree.Finish();
            Assert.Equal((new ShardNode(0, n), n, (double)n), (root, examples, loss));
            Assert.True(Reference(leaves, 0, n).AsSpan().SequenceEqual(sum[0]), $"{n} shards");
        }
        var other = new TreeSum(new GradientPool([33]));
        Assert.Throws<ArgumentException>(() => other.AddSiblings(new ShardNode(1, 1), _ => new float[33], 0, 1, new ShardNode(2, 1), _ => new float[33], 0, 1));
    }

    [Fact]
    public void The_order_of_additions_shows_in_the_bits_so_the_test_above_can_fail()
    {
        var leaves = Leaves(5, 33, seed: 5);
        var inOrder = leaves.Aggregate((a, b) => a.Zip(b, (x, y) => x + y).ToArray());
        Assert.False(Reference(leaves, 0, 5).AsSpan().SequenceEqual(inOrder));
    }

    [Fact]
    public void Summing_gives_every_buffer_back_to_the_pool_in_the_steady_state()
    {
        var pool = new GradientPool([1000]);
        var tree = new TreeSum(pool);
        var leaves = Leaves(8, 1000, seed: 1);
        var gradients = leaves.Select(l => (Func<int, ReadOnlySpan<float>>)(_ => l)).ToArray();
        void Step()
        {
            for (int i = 0; i < 8; i++) tree.Add(new ShardNode(i, 1), gradients[i], 0, 1);
            pool.Return(tree.Finish().Sum);
        }
        Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) Step();
        long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / 10;
        Assert.True(perStep < 4000, $"{perStep} bytes a step: a buffer (4000 bytes) was allocated, not rented");
    }

    [Fact]
    public void Nodes_out_of_order_are_refused()
    {
        var tree = new TreeSum(new GradientPool([1]));
        tree.Add(new ShardNode(0, 1), _ => new float[1], 0, 1);
        Assert.Throws<ArgumentException>(() => tree.Add(new ShardNode(2, 1), _ => new float[1], 0, 1));
    }
}
