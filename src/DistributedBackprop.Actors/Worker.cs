using Akka.Actor;
using Akka.Event;
using DistributedBackprop.Core;
using DistributedBackprop.Data;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors;

/// <summary>
/// Turns (parameters, a node of the step's shard tree) into (the node's gradient sum, its example count, its
/// loss sum) on its own copy of the data: each micro-shard's gradient is added along the tree into buffers
/// from the process's <see cref="GradientPool"/>, and the node goes back in one message to whoever asked (the
/// coordinator, which passes it to the server, which returns the buffers). Holds the newest parameters it was
/// sent and a few before them (with staleness, a step is computed with older ones) — the server's own
/// read-only versions in one process; work for a newer version waits for them, work for a version it no
/// longer holds is dropped. It takes work and parameters only from its own process or from the
/// parameter-server node (<c>server</c>), and only what fits its model and data.
/// </summary>
public sealed class Worker : ReceiveActor, IWithStash, ILeafSource
{
    private readonly Dataset _data;
    private readonly LeafSum _leaves;
    private readonly string[] _names;
    private readonly int[][] _shapes;
    private readonly SortedList<long, Parameters<float>> _versions = []; // the newest Keep versions it was sent
    private long _version = -1; // the newest

    /// <summary>Versions held: as many as a step may lag behind (<see cref="TrainingSettings.MaxStaleness"/>), the newest, and the next on its way.</summary>
    private const int Keep = TrainingSettings.MaxStaleness + 2;
    private readonly Dictionary<int, (Tensor<float> X, Tensor<float> Y)> _batches = [];
    private DataPath.DataLink? _link;

    /// <summary>On a worker node: send gradients over this link to the server's data channel (local only).</summary>
    public sealed record UseLink(DataPath.DataLink Link) : INoSerializationVerificationNeeded;

    public IStash Stash { get; set; } = null!;

    private readonly Func<long, Corruption?>? _corrupt;

    public Worker(Objective objective, Dataset data, GradientPool pool, Address? server, Func<long, Corruption?>? corrupt)
    {
        _corrupt = corrupt;
        bool Trusted() => Sender.Path.Address.HasLocalScope || Sender.Path.Address.Equals(server);
        Receive<object>(_ => !Trusted(), m => Context.GetLogger().Warning("refused {0} from {1}", m.GetType().Name, Sender));
        _data = data;
        _leaves = new LeafSum(objective, pool);
        _names = objective.Model.Parameters.Select(p => p.Name).ToArray();
        _shapes = objective.Model.Parameters.Select(p => p.Shape).ToArray();
        Receive<ParameterUpdate>(u =>
        {
            if (u.Version <= _version - Keep || _versions.ContainsKey(u.Version)) return;
            if (!Fits(u, objective)) { Context.GetLogger().Warning("refused parameters of version {0}: not this model's", u.Version); return; }
            _versions[u.Version] = NamedTensor.ToParameters(u.Parameters);
            _version = Math.Max(_version, u.Version);
            while (_versions.Count > Keep) _versions.RemoveAt(0);
            Stash.UnstashAll();
        });
        Receive<ComputeShard>(c =>
        {
            if (c.Version > _version) { Stash.Stash(); return; }
            if (!_versions.ContainsKey(c.Version)) return;
            if (Problem(c, _data.Count) is string problem) { Context.GetLogger().Warning("refused work for step {0}: {1}", c.Step, problem); return; }
            var gradient = Compute(c);
            if (_link?.Open == true) _link.Send(gradient);
            else Sender.Tell(gradient);
        });
        Receive<UseLink>(u => _link = u.Link);
    }

    /// <summary>Whether an update's tensors are this model's parameters, by name and shape, in order.</summary>
    public static bool Fits(ParameterUpdate u, Objective objective)
    {
        var parameters = objective.Model.Parameters;
        if (u.Parameters is null || u.Parameters.Length != parameters.Count) return false;
        for (int i = 0; i < parameters.Count; i++)
            if (u.Parameters[i] is not { Value: not null } t || t.Name != parameters[i].Name || !Shapes.Equal(t.Value.Shape, parameters[i].Shape)) return false;
        return true;
    }

    /// <summary>Why this work cannot be done here, or null: its shards must cut its examples, which must be this data set's.</summary>
    public static string? Problem(ComputeShard c, int examples)
    {
        if (c.MicroShard <= 0 || c.Shards <= 0 || c.Examples is null || c.Examples.Length == 0) return "no examples";
        if ((c.Examples.Length + c.MicroShard - 1) / c.MicroShard != c.Shards) return $"{c.Examples.Length} examples are not {c.Shards} micro-shards of {c.MicroShard}";
        foreach (var e in c.Examples) if ((uint)e >= (uint)examples) return $"example {e} is outside 0..{examples - 1}";
        return null;
    }

    private GradientShard Compute(ComputeShard c)
    {
        (_work, _cuts) = (c, Batches.MicroShards(c.Examples.Length, c.MicroShard));
        _leaves.Add(this, c.Shard, _cuts.Length);
        var (sum, _, loss, total) = _leaves.Tree.Finish();
        if (_corrupt?.Invoke(c.Step) is { } wrong) foreach (var buffer in sum) wrong.Apply(buffer); // the fault harness's bad worker
        var grads = new NamedTensor[_names.Length];
        for (int i = 0; i < grads.Length; i++) grads[i] = new NamedTensor(_names[i], new Tensor<float>(sum[i], _shapes[i]));
        return new GradientShard(c.Version, c.Step, c.Shard, c.Shards, total, loss, grads);
    }

    // The work Compute is doing, for Run.
    private ComputeShard _work = null!;
    private (int Start, int Count)[] _cuts = [];

    /// <summary>Micro-shard <paramref name="leaf"/> (of the whole step's tree) of the work, gathered into this worker's buffers and run on <paramref name="plan"/>.</summary>
    (double LossSum, int Examples) ILeafSource.Run(ShardGradient plan, int leaf)
    {
        var (start, count) = _cuts[leaf - _work.Shard];
        // The examples go into this worker's own buffers, one pair per shard size: gathered, not allocated.
        var examples = _work.Examples.AsSpan(start, count);
        if (!_batches.TryGetValue(count, out var batch)) _batches[count] = batch = _data.Gather(examples);
        else _data.Gather(examples, batch.X.Buffer, batch.Y.Buffer);
        return (plan.Run(_versions[_work.Version], batch.X, batch.Y, examples, _work.Step), count); // dropout's masks: of these examples at this step
    }

    /// <summary>
    /// A worker; on a worker node, <paramref name="server"/> is the parameter-server node it takes work from;
    /// <paramref name="corrupt"/> (the fault harness's) says from which step it computes wrong.
    /// </summary>
    public static Props Props(Objective objective, Dataset data, GradientPool pool, Address? server = null, Func<long, Corruption?>? corrupt = null) =>
        Akka.Actor.Props.Create(() => new Worker(objective, data, pool, server, corrupt));
}
