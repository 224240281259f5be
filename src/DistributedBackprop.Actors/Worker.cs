using Akka.Actor;
using DistributedBackprop.Core;
using DistributedBackprop.Data;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors;

/// <summary>
/// Turns (parameters, micro-shard) into (gradient sum, sample count, loss sum) on its own copy of the data,
/// and replies to whoever asked (the coordinator, which passes it to the server). Holds the newest parameters
/// it was sent; a shard for a newer version waits for them, a shard for an older one is dropped.
/// </summary>
public sealed class Worker : ReceiveActor, IWithStash
{
    private readonly Dataset _data;
    private readonly Training.ShardGradient _shard;
    private readonly string[] _names;
    private readonly int[][] _shapes;
    private Parameters<float>? _parameters;
    private long _version = -1;
    private readonly Dictionary<int, (Tensor<float> X, Tensor<float> Y)> _batches = [];

    public IStash Stash { get; set; } = null!;

    public Worker(Objective objective, Dataset data)
    {
        _data = data;
        _shard = new Training.ShardGradient(objective);
        _names = objective.Model.Parameters.Select(p => p.Name).ToArray();
        _shapes = objective.Model.Parameters.Select(p => p.Shape).ToArray();
        Receive<ParameterUpdate>(u =>
        {
            if (u.Version <= _version) return;
            _parameters = NamedTensor.ToParameters(u.Parameters);
            _version = u.Version;
            Stash.UnstashAll();
        });
        Receive<ComputeShard>(c =>
        {
            if (c.Version > _version) { Stash.Stash(); return; }
            if (c.Version < _version) return;
            Sender.Tell(Compute(c));
        });
    }

    private GradientShard Compute(ComputeShard c)
    {
        // The examples go into this worker's own buffers, one pair per shard size: gathered, not allocated.
        if (!_batches.TryGetValue(c.Examples.Length, out var batch))
            _batches[c.Examples.Length] = batch = _data.Gather(c.Examples);
        else _data.Gather(c.Examples, batch.X.Buffer, batch.Y.Buffer);
        double lossSum = _shard.Run(_parameters!, batch.X, batch.Y);
        // Copies: the plan's buffers are overwritten by the next shard, a message must not change.
        var grads = new NamedTensor[_names.Length];
        for (int i = 0; i < grads.Length; i++) grads[i] = new NamedTensor(_names[i], Tensor<float>.FromArray(_shard.Gradient(i), _shapes[i]));
        return new GradientShard(c.Version, c.Step, c.Shard, c.Examples.Length, lossSum, grads);
    }

    public static Props Props(Objective objective, Dataset data) => Akka.Actor.Props.Create(() => new Worker(objective, data));
}
