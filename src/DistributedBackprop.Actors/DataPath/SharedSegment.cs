using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using DistributedBackprop.Core;

namespace DistributedBackprop.Actors.DataPath;

/// <summary>
/// Shared memory between a parameter-server node and a worker node on the same machine: a file in a tmpfs
/// directory (<c>/dev/shm</c>), mapped by both, with a ring of <see cref="Slots"/> tensor slots for each
/// direction (updates out, gradients in). A frame on the data channel then carries only its header and the
/// slot it names: the tensors cross as one copy in and one copy out, where a socket costs two copies through
/// the kernel and, with TLS, the sealing of every byte. Nothing about trust changes: the server offers the
/// segment over the authenticated channel, with a random name and a random nonce written in it; a worker that
/// finds that name in its own tmpfs with that nonce in it shares the server's machine and user (the file is
/// the server's user's alone, in a directory where no one else may replace it), and a worker anywhere else
/// finds nothing and goes on with the socket. The file is unlinked as soon as the worker has mapped it (or
/// declined), so nothing is left behind but the mapping, which ends with the connection.
/// </summary>
/// <remarks>
/// Each slot is a seqlock: its stamp is -1 while it is written and the frame's number once it is whole. A
/// reader checks the stamp before and after copying out; a slot the writer came round to again meanwhile (a
/// reader more than <see cref="Slots"/> frames behind) fails the check and its frame is dropped, as the
/// at-most-once rules allow — never read torn.
/// </remarks>
public sealed unsafe partial class SharedSegment : IDisposable
{
    public const int Slots = 4;
    public const int Updates = 0, Gradients = 1;
    /// <summary>Larger segments are not offered: the socket carries such a model instead of filling tmpfs.</summary>
    public const long MaxBytes = 1L << 30;
    private const int HeaderBytes = 64, StampBytes = 64, NonceBytes = 32;
    private static readonly byte[] Magic = "dbp-shm1"u8.ToArray();

    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private readonly long _slotBytes;
    private readonly long[] _written = new long[2];
    private string? _path; // until unlinked
    private int _disposed, _users;

    private SharedSegment(MemoryMappedFile file, string name, string? path, long tensorBytes)
    {
        (_file, Name, _path) = (file, name, path);
        _slotBytes = StampBytes + (tensorBytes + 63) / 64 * 64;
        _view = file.CreateViewAccessor(0, Size(tensorBytes));
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _base = p + _view.PointerOffset;
    }

    public string Name { get; }

    /// <summary>This machine's tmpfs for segments, where it has one (Linux's /dev/shm).</summary>
    public static string? DefaultDirectory => Directory.Exists("/dev/shm") ? "/dev/shm" : null;

    /// <summary>The nonce that proves a mapping is of this segment, in hex.</summary>
    public string Nonce => Convert.ToHexStringLower(new ReadOnlySpan<byte>(_base + Magic.Length, NonceBytes));

    public static long Size(long tensorBytes) => HeaderBytes + 2L * Slots * (StampBytes + (tensorBytes + 63) / 64 * 64);

    [GeneratedRegex("^dbp-[0-9a-f]{32}$")]
    private static partial Regex Names();

    /// <summary>The server's side: a new segment for tensors of <paramref name="tensorBytes"/>, or null where one cannot be made.</summary>
    public static SharedSegment? Create(string directory, long tensorBytes)
    {
        long size = Size(tensorBytes);
        if (size > MaxBytes || OperatingSystem.IsWindows() || !Directory.Exists(directory)) return null;
        var name = "dbp-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var path = Path.Combine(directory, name);
        try
        {
            // Its space taken up front (a mapped page tmpfs cannot back would kill the process), its user's alone.
            var stream = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.ReadWrite, PreallocationSize = size,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
            stream.SetLength(size);
            var segment = new SharedSegment(MemoryMappedFile.CreateFromFile(stream, null, size, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false), name, path, tensorBytes);
            Magic.CopyTo(new Span<byte>(segment._base, Magic.Length));
            RandomNumberGenerator.Fill(new Span<byte>(segment._base + Magic.Length, NonceBytes));
            return segment;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(path); } catch (Exception f) when (f is IOException or UnauthorizedAccessException) { }
            return null;
        }
    }

    /// <summary>
    /// The worker's side: maps the segment the server offered, if it is in this machine's <paramref name="directory"/>
    /// with the offered nonce in it and the size this model's tensors need; null otherwise (another machine).
    /// Only a name of the server's own form is looked up, and only there: the offer cannot name a path.
    /// </summary>
    public static SharedSegment? Open(string directory, string name, string nonce, long tensorBytes)
    {
        if (!Names().IsMatch(name) || nonce.Length != 2 * NonceBytes) return null;
        var path = Path.Combine(directory, name);
        long size = Size(tensorBytes);
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists || info.LinkTarget is not null || info.Length != size) return null;
            var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            if (stream.Length != size) { stream.Dispose(); return null; }
            var segment = new SharedSegment(MemoryMappedFile.CreateFromFile(stream, null, size, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false), name, null, tensorBytes);
            if (new ReadOnlySpan<byte>(segment._base, Magic.Length).SequenceEqual(Magic) && segment.Nonce == nonce) return segment;
            segment.Dispose();
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>Removes the file (the mappings stay): once the worker has mapped it, or will not.</summary>
    public void Unlink()
    {
        if (Interlocked.Exchange(ref _path, null) is { } path)
            try { File.Delete(path); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>Writes <paramref name="tensors"/> into the direction's next slot; returns the slot and its stamp for the frame.</summary>
    public (int Slot, long Stamp)? Put(int direction, NamedTensor[] tensors)
    {
        if (!Enter()) return null;
        try { return Write(direction, tensors); }
        finally { Interlocked.Decrement(ref _users); }
    }

    private (int Slot, long Stamp) Write(int direction, NamedTensor[] tensors)
    {
        long stamp = ++_written[direction]; // one writer per direction: its connection's writer thread
        int slot = (int)(stamp % Slots);
        long* mark = Stamp(direction, slot);
        Interlocked.Exchange(ref *mark, -1); // a full fence: no byte of the new data is seen before the slot is marked
        var data = Data(direction, slot);
        foreach (var t in tensors)
        {
            var bytes = MemoryMarshal.AsBytes(t.Value.Data);
            bytes.CopyTo(data);
            data = data[bytes.Length..];
        }
        Volatile.Write(ref *mark, stamp);
        return (slot, stamp);
    }

    /// <summary>Copies the slot into <paramref name="buffers"/>; false if it is not (or no longer) the frame's.</summary>
    public bool Get(int direction, int slot, long stamp, float[][] buffers)
    {
        if ((uint)slot >= Slots || stamp <= 0 || !Enter()) return false;
        try { return Read(direction, slot, stamp, buffers); }
        finally { Interlocked.Decrement(ref _users); }
    }

    private bool Read(int direction, int slot, long stamp, float[][] buffers)
    {
        long* mark = Stamp(direction, slot);
        if (Volatile.Read(ref *mark) != stamp) return false;
        ReadOnlySpan<byte> data = Data(direction, slot);
        foreach (var buffer in buffers)
        {
            var bytes = MemoryMarshal.AsBytes(buffer.AsSpan());
            data[..bytes.Length].CopyTo(bytes);
            data = data[bytes.Length..];
        }
        Interlocked.MemoryBarrier();
        return Volatile.Read(ref *mark) == stamp;
    }

    /// <summary>A copy in or out holds the mapping: it is unmapped only once none is under way.</summary>
    private bool Enter()
    {
        Interlocked.Increment(ref _users);
        if (Volatile.Read(ref _disposed) == 0) return true;
        Interlocked.Decrement(ref _users);
        return false;
    }

    private long* Stamp(int direction, int slot) => (long*)(_base + HeaderBytes + (direction * Slots + slot) * _slotBytes);

    private Span<byte> Data(int direction, int slot) =>
        new(_base + HeaderBytes + (direction * Slots + slot) * _slotBytes + StampBytes, (int)(_slotBytes - StampBytes));

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Unlink();
        // A copy is a fraction of a millisecond; the bound only keeps a stuck thread from holding this one.
        for (int i = 0; i < 5000 && Volatile.Read(ref _users) > 0; i++) Thread.Sleep(1);
        if (Volatile.Read(ref _users) > 0) return; // left mapped rather than pulled from under a copy
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}
