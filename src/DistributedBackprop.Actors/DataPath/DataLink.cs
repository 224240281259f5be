using System.Net.Sockets;
using Akka.Actor;
using DistributedBackprop.Core;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors.DataPath;

/// <summary>
/// A worker node's end of the data path: one connection to the parameter-server node's
/// <see cref="DataChannel"/>. Gradients go out from the worker's pooled buffers, which come back to the pool
/// once written; parameter updates come in, checked against the model, into a ring of the worker's own
/// buffers (a version stays as it was while the worker may still compute with it), and reach the worker as
/// the same message Akka would have brought.
/// </summary>
public sealed class DataLink : IDisposable
{
    // The worker holds on to its newest versions and a few before them (staleness); an update is read into a slot none of those is in.
    private const int Versions = TrainingSettings.MaxStaleness + 3;
    private readonly Connection _connection;
    private readonly GradientPool _pool;

    private DataLink(Connection connection, GradientPool pool) => (_connection, _pool) = (connection, pool);

    /// <summary>Connects to <paramref name="endpoint"/> (host:port) and says who this node is; updates go to <paramref name="worker"/>.</summary>
    public static DataLink Connect(string endpoint, string token, Address node, ChannelModel model, GradientPool pool, IActorRef worker, ClusterTls? tls = null)
    {
        int colon = endpoint.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(endpoint[(colon + 1)..], out int port) || port is <= 0 or > 65535)
            throw new ChannelException($"'{endpoint}' is not host:port");
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try { socket.Connect(endpoint[..colon], port); }
        catch (SocketException e) { socket.Dispose(); throw new IOException($"cannot reach the data channel at {endpoint}: {e.Message}"); }
        var ring = Enumerable.Range(0, Versions).Select(_ => model.Sizes.Select(n => new float[n]).ToArray()).ToArray();
        DataLink? link = null;
        var connection = new Connection(socket, reason => OperatorLog.Info($"data channel to {endpoint}: {reason}; {ChannelCpu.Report(link!.BytesMoved)}"));
        link = new DataLink(connection, pool);
        connection.Send(s => TensorFrames.WriteHello(s, token, node.ToString()));
        connection.Start("dbp-link", stream =>
        {
            long received = 0;
            while (TensorFrames.ReadHeader(stream) is var (kind, header))
            {
                if (kind != TensorFrames.Update) throw new ChannelException($"the server sent a frame of kind {kind}");
                worker.Tell(TensorFrames.ReadUpdate(stream, header, model, ring[received++ % Versions]));
                ByteCount.Add(ref link._bytes, header.Length + model.Sizes.Sum() * (long)sizeof(float));
            }
        }, tls is null ? null : Connection.TlsClient(tls, endpoint[..colon]));
        return link;
    }

    public bool Open => _connection.Open;

    /// <summary>Bytes of tensors moved, both ways.</summary>
    public long BytesMoved => Interlocked.Read(ref _bytes);
    private long _bytes;

    /// <summary>Sends a gradient whose buffers are the pool's: they go back to it once written.</summary>
    public void Send(GradientShard gradient) => _connection.Send(s =>
    {
        ByteCount.Add(ref _bytes, TensorFrames.WriteGradient(s, gradient));
        _pool.Return(gradient.Buffers());
    });

    public void Dispose() => _connection.Dispose();
}
