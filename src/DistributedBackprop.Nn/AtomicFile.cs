namespace DistributedBackprop.Nn;

/// <summary>
/// Files appear whole or not at all: written to a temporary file beside the target, flushed to disk, then
/// renamed over it, so a crash at any moment leaves the previous file as it was. The one writer of
/// checkpoints and of every output file.
/// </summary>
public static class AtomicFile
{
    /// <summary>Calls <paramref name="write"/> with the temporary path to fill, then puts it in place.</summary>
    public static void Write(string path, Action<string> write)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new IOException($"cannot write {path}: folder {dir} does not exist");
        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            write(temp);
            using (var f = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) f.Flush(flushToDisk: true);
            File.Move(temp, full, overwrite: true);
        }
        catch (UnauthorizedAccessException) { throw new IOException($"cannot write {path}: permission denied"); }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, temp => File.WriteAllBytes(temp, bytes));

    public static void WriteAllText(string path, string text) => Write(path, temp => File.WriteAllText(temp, text));
}
