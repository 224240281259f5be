using System.Collections.Concurrent;
using System.Net.Security;
using System.Net.Sockets;

namespace DistributedBackprop.Actors.DataPath;

/// <summary>
/// One end of a data-channel connection: a socket read by a thread of its own and written by another from a
/// queue, so that whoever sends (an actor) never waits on the network — but for a frame of a few bytes (its
/// tensors in shared memory) with nothing queued before it, which its sender writes itself: the socket's
/// buffer takes it at once, unless the peer has stopped reading for thousands of frames, and then a write
/// that cannot finish in <see cref="SendTimeout"/> closes the connection. With the cluster's certificate, the
/// reader first makes it mutual TLS (.NET's SslStream, the same pinning as Akka's connections), which then
/// carries the keys of the <see cref="SealedStream"/> records that follow, and the writer waits for that. The queue holds at most
/// <see cref="Backlog"/> frames: a peer that stops reading (paused, stalled) loses its oldest frames, as the
/// at-most-once rules allow (every frame carries its version and step, and the coordinator resends work),
/// rather than holding up the sender or filling memory.
/// </summary>
internal sealed class Connection : IDisposable
{
    private const int Backlog = 8;

    /// <summary>The longest a write may wait for the peer to read: a 4 MB socket buffer a peer has not drained in this is a peer gone.</summary>
    public static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(10);
    private readonly Socket _socket;
    private Stream _stream;
    private readonly ManualResetEventSlim _secured = new();
    private readonly BlockingCollection<Action<Stream>> _outbox = new(new ConcurrentQueue<Action<Stream>>());
    private readonly Action<string> _closed;
    private int _disposed;

    public Connection(Socket socket, Action<string> closed)
    {
        socket.NoDelay = true;
        socket.SendTimeout = (int)SendTimeout.TotalMilliseconds;
        socket.SendBufferSize = socket.ReceiveBufferSize = 4 << 20;
        (_socket, _closed) = (socket, closed);
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    /// <summary>
    /// Starts reading with <paramref name="readLoop"/> (until the stream ends or a frame is refused) and writing,
    /// over <paramref name="secure"/>'s stream where given (a TLS handshake, which refuses a wrong peer).
    /// </summary>
    public Connection Start(string name, Action<Stream> readLoop, Func<Stream, Stream>? secure = null)
    {
        // Names of at most 15 characters: Linux keeps that much, and ChannelCpu finds the threads by them.
        Start($"{name}-read", () =>
        {
            if (secure is not null) _stream = secure(_stream);
            _secured.Set();
            readLoop(new BufferedStream(_stream, 1 << 16));
        });
        Start($"{name}-write", WriteLoop);
        return this;
    }

    /// <summary>Mutual TLS as a server, with the cluster's certificate and its check of the peer's; then sealed records.</summary>
    public static Func<Stream, Stream> TlsServer(ClusterTls tls, string peer) => stream =>
    {
        var ssl = new SslStream(stream, leaveInnerStreamOpen: true, (_, cert, _, _) => tls.Accepts(cert as System.Security.Cryptography.X509Certificates.X509Certificate2, peer));
        ssl.AuthenticateAsServer(new SslServerAuthenticationOptions { ServerCertificate = tls.Certificate, ClientCertificateRequired = true });
        return SealedStream.Listening(ssl, stream);
    };

    /// <summary>Mutual TLS as a client: this node's certificate, and the same check of the server's; then sealed records.</summary>
    public static Func<Stream, Stream> TlsClient(ClusterTls tls, string host) => stream =>
    {
        var ssl = new SslStream(stream, leaveInnerStreamOpen: true, (_, cert, _, _) => tls.Accepts(cert as System.Security.Cryptography.X509Certificates.X509Certificate2, host));
        ssl.AuthenticateAsClient(new SslClientAuthenticationOptions { TargetHost = host, ClientCertificates = [tls.Certificate] });
        return SealedStream.Connecting(ssl, stream);
    };

    public bool Open => Volatile.Read(ref _disposed) == 0;

    /// <summary>How long a read may wait: short until a peer has said who it is, then for ever (a run may wait for workers).</summary>
    public TimeSpan ReadTimeout { set => _socket.ReceiveTimeout = (int)value.TotalMilliseconds; }

    /// <summary>
    /// Queues a frame for writing (a frame dropped, or queued on a closed connection, is never written); a
    /// <paramref name="small"/> one (a header, its tensors in shared memory) is written at once on the
    /// caller's thread when nothing is queued before it and no write is under way: a wake-up of the writer
    /// thread was the largest wait of a step on a loaded machine (120-270 µs, measured). A write that fails
    /// closes the connection, as the writer thread's would; it never throws to the caller.
    /// </summary>
    public void Send(Action<Stream> write, bool small = false)
    {
        if (!Open) return;
        if (small && Volatile.Read(ref _queued) == 0 && _writing.TryEnter())
        {
            try
            {
                if (_queued == 0 && _buffered is { } stream)
                {
                    long start = ChannelCpu.ThreadNanoseconds();
                    try
                    {
                        write(stream);
                        stream.Flush();
                    }
                    catch (Exception e) when (Closes(e)) { Close(e); }
                    ChannelCpu.Include(ChannelCpu.ThreadNanoseconds() - start);
                    return;
                }
            }
            finally { _writing.Exit(); }
        }
        while (_outbox.Count >= Backlog && _outbox.TryTake(out _)) Interlocked.Decrement(ref _queued); // the oldest go: newer frames supersede them
        Interlocked.Increment(ref _queued);
        try { _outbox.TryAdd(write); }
        catch (InvalidOperationException) { Interlocked.Decrement(ref _queued); } // closed meanwhile
    }

    // Frames in the outbox or in the writer thread's hands: a frame is written at once only when there are none,
    // and every write (the writer thread's or a sender's) holds _writing, so frames leave in the order they came.
    private int _queued;
    private readonly Lock _writing = new();
    private BufferedStream? _buffered;

    private void WriteLoop()
    {
        while (!_secured.Wait(TimeSpan.FromSeconds(1))) if (!Open) return;
        lock (_writing) _buffered = new BufferedStream(_stream, 1 << 16);
        foreach (var write in _outbox.GetConsumingEnumerable())
            lock (_writing)
            {
                write(_buffered);
                if (Interlocked.Decrement(ref _queued) == 0) _buffered.Flush();
            }
    }

    private void Start(string name, Action body)
    {
        var thread = new Thread(() =>
        {
            try { body(); Close("closed by the other end"); }
            catch (Exception e) when (Closes(e)) { Close(e); }
            finally { ChannelCpu.ThreadEnding(); }
        }) { IsBackground = true, Name = name };
        thread.Start();
    }

    /// <summary>What ends a connection when a read or a write meets it, rather than escaping to the thread's caller.</summary>
    private static bool Closes(Exception e) =>
        e is IOException or SocketException or ObjectDisposedException or ChannelException or InvalidOperationException or System.Security.Authentication.AuthenticationException;

    private void Close(Exception e) => Close(e is ChannelException ? e.Message : e.GetBaseException().Message);

    private void Close(string reason)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _outbox.CompleteAdding();
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        _socket.Dispose();
        _closed(reason);
    }

    public void Dispose() => Close("closed here");
}
