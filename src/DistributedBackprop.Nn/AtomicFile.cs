using System.Runtime.InteropServices;

namespace DistributedBackprop.Nn;

/// <summary>An output path that dbp will not write: not a regular file, or a kind of file it cannot make.</summary>
public sealed class OutputPathException(string message) : IOException(message);

/// <summary>
/// Files appear whole or not at all: written to a temporary file beside the target, flushed to disk, then
/// renamed over it, so a crash at any moment leaves the previous file as it was. The one writer of
/// checkpoints and of every output file, and the one place that says which paths may be written
/// (<see cref="CheckTarget"/>): only a regular file or a name not taken yet — a rename would replace a
/// device, a pipe or a symbolic link itself, and a directory cannot be replaced by a file. Temporary files
/// left by a writer that was killed (<c>.NAME.PID.tmp</c>, its process gone) are removed by the next write.
/// </summary>
public static class AtomicFile
{
    /// <summary>
    /// Refuses <paramref name="path"/> unless it is a regular file or does not exist yet, and, when
    /// <paramref name="extensions"/> are given, unless it ends in one of them. For commands to call before
    /// they start working; every write checks again.
    /// </summary>
    public static void CheckTarget(string path, params string[] extensions)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new OutputPathException("an output path is empty");
        var extension = Path.GetExtension(path).ToLowerInvariant();
        if (extensions.Length > 0 && !extensions.Contains(extension))
            throw new OutputPathException($"{path}: cannot write '{(extension.Length == 0 ? "(no extension)" : extension)}' files here; use {string.Join(", ", extensions)}");
        if (Kind(path) is { } kind) throw new OutputPathException($"{path} is {kind}, not a regular file: dbp writes only regular files (or new ones)");
    }

    /// <summary>What <paramref name="path"/> is if it exists and is not a regular file ("a directory", "a named pipe", ...); else null.</summary>
    public static string? Kind(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null) return "a symbolic link";
        if (Directory.Exists(path)) return "a directory";
        if (!info.Exists) return null;
        return FileType(path) switch
        {
            null or Regular => null,
            Fifo => "a named pipe",
            CharDevice or BlockDevice => "a device",
            Socket => "a socket",
            _ => "not a regular file",
        };
    }

    // .NET's own native shim (libSystem.Native, shipped with every runtime) fills a FileStatus whose second
    // field is the mode with POSIX's S_IFMT bits; .NET itself exposes no file type beyond directory and link.
    private const int TypeMask = 0xF000, Regular = 0x8000, Fifo = 0x1000, CharDevice = 0x2000, BlockDevice = 0x6000, Socket = 0xC000;

    [DllImport("libSystem.Native", EntryPoint = "SystemNative_LStat", SetLastError = true)]
    private static extern unsafe int LStat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte* status);

    private static unsafe int? FileType(string path)
    {
        if (OperatingSystem.IsWindows()) return null;
        byte* status = stackalloc byte[512]; // larger than any FileStatus
        try { return LStat(path, status) == 0 ? *(int*)(status + 4) & TypeMask : null; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return null; }
    }

    /// <summary>Calls <paramref name="write"/> with the temporary path to fill, then puts it in place.</summary>
    public static void Write(string path, Action<string> write)
    {
        CheckTarget(path);
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new IOException($"cannot write {path}: folder {dir} does not exist");
        var name = Path.GetFileName(full);
        RemoveAbandoned(dir, name);
        var temp = Path.Combine(dir, $".{name}.{Environment.ProcessId}.tmp");
        try
        {
            if (File.Exists(temp) || new FileInfo(temp).LinkTarget is not null) File.Delete(temp); // never write through a planted link
            write(temp);
            using (var f = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) f.Flush(flushToDisk: true);
            CheckTarget(path); // the target may have changed while this wrote
            File.Move(temp, full, overwrite: true);
        }
        catch (UnauthorizedAccessException) { throw new IOException($"cannot write {path}: permission denied"); }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>Removes <c>.NAME.PID.tmp</c> files beside the target whose process has gone (a killed write).</summary>
    public static int RemoveAbandoned(string dir, string name)
    {
        int removed = 0;
        foreach (var temp in Directory.EnumerateFiles(dir, $".{name}.*.tmp"))
        {
            var pid = Path.GetFileName(temp)[(name.Length + 2)..^4];
            if (!int.TryParse(pid, out var id) || id == Environment.ProcessId || Running(id) || Kind(temp) is not null) continue;
            try { File.Delete(temp); removed++; }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // another writer's, or not ours to remove
        }
        return removed;
    }

    private static bool Running(int pid)
    {
        if (OperatingSystem.IsLinux()) return Directory.Exists($"/proc/{pid}");
        try { using var p = System.Diagnostics.Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
    }

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, temp => File.WriteAllBytes(temp, bytes));

    public static void WriteAllText(string path, string text) => Write(path, temp => File.WriteAllText(temp, text));
}
