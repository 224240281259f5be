namespace DistributedBackprop.Cli;

/// <summary>Output files appear whole or not at all: written to a temporary file beside the target, then renamed.</summary>
public static class Files
{
    public static void WriteAtomic(string path, Action<string> write)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new IOException($"cannot write {path}: folder {dir} does not exist");
        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            write(temp);
            File.Move(temp, full, overwrite: true);
        }
        catch (UnauthorizedAccessException) { throw new IOException($"cannot write {path}: permission denied"); }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    public static void WriteAllTextAtomic(string path, string text) => WriteAtomic(path, temp => File.WriteAllText(temp, text));
}
