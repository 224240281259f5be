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
/// the same message Akka would have brought. Offered a <see cref="SharedSegment"/>, it maps it if it is in
/// its own tmpfs directory (the server is on this machine), and says whether it did.
/// </summary>
public sealed class DataLink : IDisposable
{
    // The worker holds on to its newest versions and a few before them (staleness); an update is read into a slot none of those is in.
    private const int Versions = TrainingSettings.MaxStaleness + 3;
    private readonly Connection _connection;
    private readonly GradientPool _pool;
    private volatile SharedSegment? _segment;

    private DataLink(Connection connection, GradientPool pool) => (_connection, _pool) = (connection, pool);

    /// <summary>Connects to <paramref name="endpoint"/> (host:port) and says who this node is; updates go to <paramref name="worker"/>.</summary>
    /// <remarks><paramref name="shared"/>: this machine's tmpfs directory, where a server on it offers a segment; none: sockets only.</remarks>
    public static DataLink Connect(string endpoint, string token, Address node, ChannelModel model, GradientPool pool, IActorRef worker, ClusterTls? tls = null,
        string? shared = null)
    {
        int colon = endpoint.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(endpoint[(colon + 1)..], out int port) || port is <= 0 or > 65535)
            throw new ChannelException($"'{endpoint}' is not host:port");
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try { socket.Connect(endpoint[..colon], port); }
        catch (SocketException e) { socket.Dispose(); throw new IOException($"cannot reach the data channel at {endpoint}: {e.Message}"); }
        var ring = Enumerable.Range(0, Versions).Select(_ => model.Sizes.Select(n => new float[n]).ToArray()).ToArray();
        DataLink? link = null;
        var connection = new Connection(socket, reason =>
        {
            link!._segment?.Dispose();
            OperatorLog.Info($"data channel to {endpoint}: {reason}; {ChannelCpu.Report(link.BytesMoved)}");
        });
        link = new DataLink(connection, pool);
        connection.Send(s => TensorFrames.WriteHello(s, token, node.ToString()));
        connection.Start("dbp-link", stream =>
        {
            long received = 0;
            while (TensorFrames.ReadHeader(stream) is var (kind, header))
            {
                if (kind == TensorFrames.Offer && link._segment is null)
                {
                    link.Answer(TensorFrames.ParseOffer(header), shared, model, endpoint);
                    continue;
                }
                if (kind == TensorFrames.Work)
                {
                    ChannelCpu.Deliver(worker, TensorFrames.ParseWork(header)); // checked by the worker, as work that came by Akka is
                    continue;
                }
                var update = TensorFrames.ReadUpdate(stream, kind, header, model, ring[received % Versions], link._segment);
                ByteCount.Add(ref link._bytes, header.Length + model.Bytes);
                if (update is null) continue; // its slot was written again: a newer version is on its way
                received++;
                ChannelCpu.Deliver(worker, update);
            }
        }, tls is null ? null : Connection.TlsClient(tls, endpoint[..colon]));
        return link;
    }

    /// <summary>Maps the offered segment if it is on this machine, and says whether it did.</summary>
    private void Answer((string Name, string Nonce) offer, string? shared, ChannelModel model, string endpoint)
    {
        var segment = shared is null ? null : SharedSegment.Open(shared, offer.Name, offer.Nonce, model.Bytes);
        // The answer is queued before the first gradient that uses the segment: the server reads them in that order.
        _connection.Send(s => TensorFrames.WriteMapped(s, segment is not null));
        _segment = segment;
        OperatorLog.Info(segment is not null ? $"data channel to {endpoint}: tensors through shared memory"
            : shared is null ? $"data channel to {endpoint}: tensors by socket (shared memory is off here)"
            : $"data channel to {endpoint}: tensors by socket (the server's shared memory is not on this machine)");
    }

    public bool Open => _connection.Open;

    /// <summary>Whether tensors go through shared memory with the server.</summary>
    public bool SharesMemory => _segment is not null;

    /// <summary>Bytes of tensors moved, both ways.</summary>
    public long BytesMoved => Interlocked.Read(ref _bytes);
    private long _bytes;

    /// <summary>Sends a gradient whose buffers are the pool's: they go back to it once written.</summary>
    public void Send(GradientShard gradient)
    {
        var segment = _segment;
        _connection.Send(s =>
        {
            ByteCount.Add(ref _bytes, TensorFrames.WriteGradient(s, gradient, segment));
            _pool.Return(gradient.Buffers());
        }, small: segment is not null);
    }

    public void Dispose() => _connection.Dispose();
}
