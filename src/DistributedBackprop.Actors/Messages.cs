using DistributedBackprop.Training;
using MessagePack;

namespace DistributedBackprop.Actors;

/// <summary>Marks every message dbp's actors exchange; <see cref="WireFormat"/> serializes exactly these.</summary>
public interface IDbpMessage;

/// <summary>Server → workers: the parameters at <paramref name="Version"/>; shards of that version use them.</summary>
[MessagePackObject]
public sealed record ParameterUpdate([property: Key(0)] long Version, [property: Key(1)] NamedTensor[] Parameters) : IDbpMessage;

/// <summary>
/// Coordinator → worker: with the parameters of <paramref name="Version"/>, compute the node of step
/// <paramref name="Step"/>'s shard tree that covers micro-shards [<paramref name="Shard"/>,
/// <paramref name="Shard"/> + <paramref name="Shards"/>): these example indices of the worker's own copy of the
/// data, cut into micro-shards of <paramref name="MicroShard"/>, each shard's gradient added along the tree.
/// </summary>
[MessagePackObject]
public sealed record ComputeShard(
    [property: Key(0)] long Version, [property: Key(1)] long Step, [property: Key(2)] int Shard, [property: Key(3)] int Shards,
    [property: Key(4)] int MicroShard, [property: Key(5)] int[] Examples) : IDbpMessage;

/// <summary>
/// Worker → server: the gradient of the summed loss over micro-shards [<paramref name="Shard"/>,
/// <paramref name="Shard"/> + <paramref name="Shards"/>) of the step — one node of its shard tree, added up
/// along the tree — with the loss sum and the example count.
/// </summary>
[MessagePackObject]
public sealed record GradientShard(
    [property: Key(0)] long Version, [property: Key(1)] long Step, [property: Key(2)] int Shard, [property: Key(3)] int Shards,
    [property: Key(4)] int Count, [property: Key(5)] double LossSum, [property: Key(6)] NamedTensor[] Gradients) : IDbpMessage
{
    [IgnoreMember] public ShardNode Node => new(Shard, Shards);

    /// <summary>The arrays the gradient's tensors are in: a pool's, where it was rented from one.</summary>
    public float[][] Buffers() => [.. Gradients.Select(t => t.Value.Buffer)];
}

/// <summary>Coordinator → server: step <paramref name="Step"/> has <paramref name="Shards"/> micro-shards covering <paramref name="Examples"/> examples.</summary>
[MessagePackObject]
public sealed record BeginStep([property: Key(0)] long Step, [property: Key(1)] int Shards, [property: Key(2)] int Examples) : IDbpMessage;

/// <summary>Server → coordinator: the step is applied; parameters are now at <paramref name="Version"/>.</summary>
[MessagePackObject]
public sealed record StepApplied([property: Key(0)] long Step, [property: Key(1)] long Version, [property: Key(2)] double Loss) : IDbpMessage;

/// <summary>Server → coordinator: the step cannot be applied (a non-finite gradient); training stops.</summary>
[MessagePackObject]
public sealed record StepRefused([property: Key(0)] long Step, [property: Key(1)] string Reason) : IDbpMessage;

/// <summary>Worker → coordinator: I can take shards (and have loaded the data set described by the coordinator).</summary>
[MessagePackObject]
public sealed record WorkerReady([property: Key(0)] string Node) : IDbpMessage;

/// <summary>
/// Parameter-server node → worker node: build this model and load this data set (its description, not its
/// data); connect to the data channel at <paramref name="DataEndpoint"/> (host:port) with the run's
/// <paramref name="DataToken"/>, where there is one.
/// </summary>
[MessagePackObject]
public sealed record JobDescription([property: Key(0)] TrainingJob Job, [property: Key(1)] string? DataEndpoint = null, [property: Key(2)] string? DataToken = null) : IDbpMessage;

/// <summary>Worker node → parameter-server node: the job cannot run here (e.g. its data set is missing); the node leaves.</summary>
[MessagePackObject]
public sealed record JobFailed([property: Key(0)] string Node, [property: Key(1)] string Reason) : IDbpMessage;

/// <summary>Anyone → server: reply with a <see cref="StateSnapshot"/> of the parameters and optimizer state.</summary>
[MessagePackObject]
public sealed record GetState : IDbpMessage
{
    public static readonly GetState Instance = new();
}

/// <summary>Server → asker: everything needed to go on training from here.</summary>
[MessagePackObject]
public sealed record StateSnapshot(
    [property: Key(0)] long Version, [property: Key(1)] long Step, [property: Key(2)] NamedTensor[] Parameters,
    [property: Key(3)] long OptimizerStep, [property: Key(4)] NamedTensor[] Slots) : IDbpMessage;

/// <summary>
/// Coordinator → server: write the checkpoint of the state before <paramref name="Step"/>, to the server's
/// own checkpoint file (a message never names a path).
/// </summary>
[MessagePackObject]
public sealed record SaveCheckpoint([property: Key(0)] long Step) : IDbpMessage;

/// <summary>Server → coordinator: the checkpoint is on disk, or why not.</summary>
[MessagePackObject]
public sealed record CheckpointSaved([property: Key(0)] long Step, [property: Key(1)] string? Error) : IDbpMessage;

/// <summary>Anyone → server: how many duplicate and stale gradients it has ignored.</summary>
[MessagePackObject]
public sealed record GetCounters : IDbpMessage
{
    public static readonly GetCounters Instance = new();
}

[MessagePackObject]
public sealed record ServerCounters([property: Key(0)] long Version, [property: Key(1)] long Step, [property: Key(2)] long Duplicates, [property: Key(3)] long Stale) : IDbpMessage;
