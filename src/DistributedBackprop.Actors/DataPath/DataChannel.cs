using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Akka.Actor;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors.DataPath;

/// <summary>
/// The parameter-server node's end of the data path: a TCP listener that worker nodes connect to, beside
/// Akka's own connection, to carry the two big messages of a step — parameter updates out, gradients in —
/// as raw tensor frames (<see cref="TensorFrames"/>). Akka.Cluster still carries membership, failure
/// detection and every control message but a step's work, which goes here behind its update. A worker proves it is the run's with the token the job description
/// carried over Akka, and names its node; with the cluster's certificate the connection is mutual TLS first,
/// so a node without it gets no further than the handshake. Gradients are read straight into the server's pooled buffers and
/// handed to the coordinator as if they had come by message, so the same rules accept or refuse them. Given a
/// tmpfs directory, the channel offers each worker a <see cref="SharedSegment"/> there; a worker on this
/// machine maps it, and from then on the tensors of its frames go through it.
/// </summary>
public sealed class DataChannel : IDisposable
{
    private readonly TcpListener _listener;
    private readonly ChannelModel _model;
    private readonly GradientPool _pool;
    private readonly ConcurrentDictionary<Address, Peer> _workers = new();
    private readonly string? _shared;
    private volatile IActorRef? _coordinator;
    private const int MaxConnections = 256;
    private int _open;

    private readonly ClusterTls? _tls;

    /// <summary>A worker's connection, and the segment it was offered (mapped once it says so).</summary>
    private sealed class Peer(Connection connection, SharedSegment? segment)
    {
        public Connection Connection { get; } = connection;
        public SharedSegment? Segment { get; } = segment;
        public volatile bool Mapped;
        public SharedSegment? Updates => Mapped ? Segment : null;
    }

    /// <remarks><paramref name="shared"/>: a tmpfs directory for shared segments with workers on this machine; none: sockets only.</remarks>
    public DataChannel(string host, ChannelModel model, GradientPool pool, ClusterTls? tls = null, string? shared = null)
    {
        (_model, _pool, _tls, _shared) = (model, pool, tls, shared);
        Token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        // The node's own address, as Akka binds it: an IP, or a name (a pod's, say) that resolves to one.
        var address = IPAddress.TryParse(host, out var ip) ? ip : Dns.GetHostAddresses(host).FirstOrDefault()
            ?? throw new IOException($"{host} does not resolve to an address for the data channel");
        _listener = new TcpListener(address, 0);
        _listener.Start();
        Endpoint = $"{host}:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        new Thread(Accept) { IsBackground = true, Name = "data channel listener" }.Start();
    }

    /// <summary>Where workers connect: host:port.</summary>
    public string Endpoint { get; }

    /// <summary>The run's secret: known only to nodes that were sent the job.</summary>
    public string Token { get; }

    /// <summary>Bytes of tensors moved, both ways.</summary>
    public long BytesMoved => Interlocked.Read(ref _bytes);
    private long _bytes;

    /// <summary>Where gradients go: the run's coordinator, or nowhere between runs.</summary>
    public void SetCoordinator(IActorRef? coordinator) => _coordinator = coordinator;

    public bool Connected(Address node) => Open(node) is not null;

    /// <summary>Whether the node's tensors go through shared memory.</summary>
    public bool SharesMemory(Address node) => Open(node)?.Mapped == true;

    /// <summary>The node's worker, if its connection is open.</summary>
    private Peer? Open(Address node) => _workers.TryGetValue(node, out var p) && p.Connection.Open ? p : null;

    /// <summary>
    /// Sends the update to a worker node; false when it has no open connection (the caller sends by Akka
    /// instead). Written straight from the server's buffers of that version, which stay as they are until two
    /// versions later: by then a worker that has not read it all has been lost, and whatever it computes with
    /// it is stale and refused by version.
    /// </summary>
    public bool Send(Address node, ParameterUpdate update)
    {
        if (Open(node) is not { } peer) return false;
        var updates = peer.Updates;
        peer.Connection.Send(s => ByteCount.Add(ref _bytes, TensorFrames.WriteUpdate(s, update, updates)), small: updates is not null);
        return true;
    }

    /// <summary>
    /// Sends work to a worker node, behind any update sent before it; false when it has no open connection or
    /// the work is too large for a frame (the caller sends by Akka instead).
    /// </summary>
    public bool SendWork(Address node, ComputeShard work)
    {
        if (work.Examples is not { Length: <= TensorFrames.MaxWorkExamples } || Open(node) is not { } peer) return false;
        peer.Connection.Send(s => TensorFrames.WriteWork(s, work), small: true);
        return true;
    }

    private void Accept()
    {
        while (true)
        {
            Socket socket;
            try { socket = _listener.AcceptSocket(); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException) { return; }
            var peer = socket.RemoteEndPoint?.ToString() ?? "?";
            if (Interlocked.Increment(ref _open) > MaxConnections)
            {
                // Each connection costs two threads: a flood of them is refused, not served.
                Interlocked.Decrement(ref _open);
                socket.Dispose();
                continue;
            }
            Address? node = null;
            Peer? worker = null;
            var connection = new Connection(socket, reason =>
            {
                Interlocked.Decrement(ref _open);
                if (node is not null) _workers.TryRemove(KeyValuePair.Create(node, worker!));
                worker?.Segment?.Dispose();
                if (reason != "closed here") OperatorLog.Info($"data channel from {node?.ToString() ?? peer}: {reason}");
            });
            connection.ReadTimeout = TimeSpan.FromSeconds(10);
            connection.Start("dbp-data", stream =>
            {
                node = Hello(stream);
                connection.ReadTimeout = TimeSpan.Zero;
                worker = new Peer(connection, _shared is null ? null : SharedSegment.Create(_shared, _model.Bytes));
                if (worker.Segment is { } segment) connection.Send(s => TensorFrames.WriteOffer(s, segment));
                if (_workers.TryRemove(node, out var old)) old.Connection.Dispose(); // a node that reconnects replaces its old connection
                _workers[node] = worker;
                Gradients(stream, node, worker);
            }, _tls is null ? null : Connection.TlsServer(_tls, peer));
        }
    }

    /// <summary>A worker's first frame: the run's token and its node, or the connection is refused.</summary>
    private Address Hello(Stream stream)
    {
        if (TensorFrames.ReadHeader(stream) is not (TensorFrames.Hello, var header)) throw new ChannelException("the first frame must be a hello");
        var (token, name) = TensorFrames.ParseHello(header);
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(token), Encoding.ASCII.GetBytes(Token)))
            throw new ChannelException("a wrong token: not a worker of this run");
        try { return Address.Parse(name); }
        catch (Exception e) when (e is UriFormatException or ArgumentException) { throw new ChannelException($"'{name}' is not a node address"); }
    }

    /// <summary>Gradients, each checked against the model before its data is read into the server's pooled buffers.</summary>
    private void Gradients(Stream stream, Address node, Peer worker)
    {
        while (TensorFrames.ReadHeader(stream) is var (kind, frame))
        {
            if (kind == TensorFrames.Mapped && worker.Segment is { } segment)
            {
                // Mapped or not, the file has done its work: the mappings outlive it.
                worker.Mapped = TensorFrames.ParseMapped(frame);
                segment.Unlink();
                continue;
            }
            var buffers = _pool.Rent();
            var gradient = TensorFrames.ReadGradient(stream, kind, frame, _model, buffers, worker.Segment);
            ByteCount.Add(ref _bytes, frame.Length + _model.Bytes);
            if (gradient is not null && _coordinator is { } coordinator) ChannelCpu.Deliver(coordinator, new Coordinator.RemoteGradient(node, gradient));
            else _pool.Return(buffers);
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        foreach (var p in _workers.Values) p.Connection.Dispose();
    }
}
