using TP = System.Numerics.Tensors.TensorPrimitives;

namespace DistributedBackprop.Training;

/// <summary>
/// Adds gradient sums along the <see cref="ShardTree"/>: nodes come in order of their first shard; a node
/// whose left sibling is on top of the stack is added into it (left + right) and the pair climbs a level, as
/// in a binary counter; at the end the stack is folded from the right, which is how the tree's ragged right
/// edge adds up. Loss sums (double) and example counts follow the same tree. Buffers come from, and go back
/// to, a <see cref="GradientPool"/>: summing allocates nothing in the steady state.
/// </summary>
public sealed class TreeSum(GradientPool pool)
{
    private readonly record struct Entry(ShardNode Node, float[][] Buffers, double LossSum, int Examples);

    private readonly List<Entry> _stack = [];

    // Whether the top two entries are siblings not yet added: a merge is made only when the stack is next
    // touched, so that the root's own addition, always the last, can be left to FinishPair's caller.
    private bool _pending;

    public GradientPool Pool => pool;

    /// <summary>Adds the next node from spans that stay the caller's: read, added or copied, never kept.</summary>
    public void Add(ShardNode node, Func<int, ReadOnlySpan<float>> gradient, double lossSum, int examples)
    {
        Settle();
        Expect(node);
        if (_stack.Count > 0 && _stack[^1].Node.IsLeftSiblingOf(node))
        {
            var left = _stack[^1];
            for (int i = 0; i < left.Buffers.Length; i++) TP.Add(left.Buffers[i], Checked(gradient(i), i), left.Buffers[i]);
            _stack[^1] = left with { Node = new ShardNode(left.Node.First, left.Node.Count + node.Count), LossSum = left.LossSum + lossSum, Examples = left.Examples + examples };
            Climb();
            return;
        }
        var buffers = pool.Rent();
        for (int i = 0; i < buffers.Length; i++) Checked(gradient(i), i).CopyTo(buffers[i]);
        _stack.Add(new Entry(node, buffers, lossSum, examples));
    }

    /// <summary>
    /// Adds the next two nodes, siblings, from spans that stay the caller's: their sum goes straight into new
    /// buffers, where adding them one at a time would copy the first and then add the second into it.
    /// </summary>
    public void AddSiblings(ShardNode left, Func<int, ReadOnlySpan<float>> a, double lossA, int examplesA,
        ShardNode right, Func<int, ReadOnlySpan<float>> b, double lossB, int examplesB)
    {
        if (!left.IsLeftSiblingOf(right)) throw new ArgumentException($"[{left.First}, {left.End}) and [{right.First}, {right.End}) are not siblings");
        Settle();
        Expect(left);
        var buffers = pool.Rent();
        for (int i = 0; i < buffers.Length; i++) TP.Add(Checked(a(i), i), Checked(b(i), i), buffers[i]);
        _stack.Add(new Entry(new ShardNode(left.First, left.Count + right.Count), buffers, lossA + lossB, examplesA + examplesB));
        Climb();
    }

    /// <summary>Adds the next node in buffers this sum takes over (it writes into them and returns them to the pool).</summary>
    public void AddOwned(ShardNode node, float[][] buffers, double lossSum, int examples)
    {
        Settle();
        Expect(node);
        _stack.Add(new Entry(node, buffers, lossSum, examples));
        Climb();
    }

    /// <summary>
    /// The sum of every node added since the last <see cref="Finish"/>: buffers that are now the caller's (to
    /// give back to <see cref="Pool"/> when done), the loss sum and the example count.
    /// </summary>
    public (float[][] Sum, ShardNode Node, double LossSum, int Examples) Finish()
    {
        if (_stack.Count == 0) throw new InvalidOperationException("nothing to sum");
        while (_stack.Count > 1) Merge(); // a pending merge is the top two's: the same as settling first
        var root = _stack[0];
        _stack.Clear();
        _pending = false;
        return (root.Buffers, root.Node, root.LossSum, root.Examples);
    }

    /// <summary>
    /// <see cref="Finish"/> but for the root's own addition, left to the caller: the root's two children
    /// (<c>Right</c> null where the tree is one node), both now the caller's. An optimizer adds them as it
    /// reads them (DistributedBackprop.Nn's Gradient), the same bits as the sum, without writing it out and
    /// reading it back: on the step's critical path that was a pass over every gradient.
    /// </summary>
    public (float[][] Left, float[][]? Right, ShardNode Node, double LossSum, int Examples) FinishPair()
    {
        if (_stack.Count == 0) throw new InvalidOperationException("nothing to sum");
        while (_stack.Count > 2) Merge();
        _pending = false;
        var (left, right) = (_stack[0], _stack.Count == 2 ? _stack[1] : (Entry?)null);
        _stack.Clear();
        if (right is not { } r) return (left.Buffers, null, left.Node, left.LossSum, left.Examples);
        return (left.Buffers, r.Buffers, new ShardNode(left.Node.First, left.Node.Count + r.Node.Count), left.LossSum + r.LossSum, left.Examples + r.Examples);
    }

    /// <summary>Gives every buffer back, as after a step that is abandoned.</summary>
    public void Clear()
    {
        foreach (var e in _stack) pool.Return(e.Buffers);
        _stack.Clear();
        _pending = false;
    }

    private void Climb() => _pending = _stack.Count > 1 && _stack[^2].Node.IsLeftSiblingOf(_stack[^1].Node);

    /// <summary>Makes the merges <see cref="Climb"/> left pending, as the binary counter carries.</summary>
    private void Settle()
    {
        while (_pending)
        {
            Merge();
            Climb();
        }
    }

    /// <summary>The top two become one: left + right, into the left's buffers; the right's go back.</summary>
    private void Merge()
    {
        var (left, right) = (_stack[^2], _stack[^1]);
        for (int i = 0; i < left.Buffers.Length; i++) TP.Add(left.Buffers[i], right.Buffers[i], left.Buffers[i]);
        pool.Return(right.Buffers);
        _stack.RemoveAt(_stack.Count - 1);
        _stack[^1] = new Entry(new ShardNode(left.Node.First, left.Node.Count + right.Node.Count), left.Buffers, left.LossSum + right.LossSum, left.Examples + right.Examples);
    }

    private void Expect(ShardNode node)
    {
        if (_stack.Count > 0 && node.First != _stack[^1].Node.End)
            throw new ArgumentException($"shards must come in order: [{node.First}, {node.End}) after [{_stack[^1].Node.First}, {_stack[^1].Node.End})");
    }

    private ReadOnlySpan<float> Checked(ReadOnlySpan<float> g, int i) =>
        g.Length == pool.Sizes[i] ? g : throw new ArgumentException($"gradient {i} has {g.Length} elements, expected {pool.Sizes[i]}");
}
