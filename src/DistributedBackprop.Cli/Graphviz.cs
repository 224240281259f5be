using System.Diagnostics;
using DistributedBackprop.Nn;

namespace DistributedBackprop.Cli;

/// <summary>Writes DOT text as .dot, or renders it to .svg/.png with Graphviz's <c>dot</c>.</summary>
public static class Graphviz
{
    /// <summary>Whether Graphviz's <c>dot</c> is on the PATH.</summary>
    public static bool IsInstalled => (Environment.GetEnvironmentVariable("PATH") ?? "")
        .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Any(d => File.Exists(Path.Combine(d, "dot")));

    public static void Write(string dotText, string path)
    {
        var format = Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".dot" or ".gv" => null,
            ".svg" => "svg",
            ".png" => "png",
            var other => throw new UsageException($"--out: cannot write '{other}' files; use .dot, .svg or .png"),
        };
        if (format is null) { AtomicFile.WriteAllText(path, dotText); return; }
        AtomicFile.Write(path, temp => Render(dotText, format, temp));
    }

    private static void Render(string dotText, string format, string outPath)
    {
        Process process;
        try
        {
            process = Process.Start(new ProcessStartInfo("dot", ["-T" + format, "-o", outPath])
            {
                RedirectStandardInput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            })!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new UsageException($"Graphviz's 'dot' is needed to write .{format} (Debian: apt-get install graphviz); or write a .dot file");
        }
        using (process)
        {
            process.StandardInput.Write(dotText);
            process.StandardInput.Close();
            var errors = process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0) throw new IOException($"dot failed: {errors.Trim()}");
        }
    }
}
