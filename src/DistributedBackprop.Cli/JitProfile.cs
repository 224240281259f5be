using System.Runtime;
using System.Text.RegularExpressions;

namespace DistributedBackprop.Cli;

/// <summary>
/// The runtime's multicore JIT: each command records which methods it compiled, and the next run of the same
/// command compiles them again on a background thread while the first one is still parsing flags and
/// loading data. dbp runs with tiered compilation off (every method fully optimised at its first call), so
/// a short run spends a large share of its time in the JIT — 180-240 ms of the notebook's regression,
/// measured with the runtime's JIT events — and the second core can do much of it ahead of need. The
/// profiles live in <c>$XDG_CACHE_HOME/dbp/jit</c> (else <c>~/.cache/dbp/jit</c>), one a command;
/// <c>DBP_JIT_PROFILES</c> names another folder, or <c>off</c>. The runtime checks each profile against the
/// assemblies it was recorded with and ignores it when they differ or it is unreadable, so a rebuild, an
/// upgrade or a damaged file costs only that run's head start.
/// </summary>
public static partial class JitProfile
{
    /// <summary>Starts recording (and playing back what the last run of the same command recorded); any failure leaves the JIT as it is.</summary>
    public static void Start(string[] args)
    {
        if (Name(args) is not { } name) return;
        try
        {
            if (Folder(Environment.GetEnvironmentVariable("DBP_JIT_PROFILES"), Environment.GetEnvironmentVariable("XDG_CACHE_HOME"),
                    Environment.GetFolderPath(Environment.SpecialFolder.UserProfile)) is not { } folder) return;
            Directory.CreateDirectory(folder);
            ProfileOptimization.SetProfileRoot(folder);
            ProfileOptimization.StartProfile(name + ".jitprofile");
        }
        // A read-only home, a file where the folder should be, a name with a NUL in it: the run is only slower to start.
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException) { }
    }

    /// <summary>
    /// The profile's name: the command and, for train, its task ("train-regression"), since each compiles
    /// different code; null for anything else (no command, a flag, a name that is not plainly a word) and for
    /// <c>node</c>. A node runs for as long as its cluster and its start-up hardly counts, but a profile
    /// holds every role's code, which each node then compiled on its second core while joining: the
    /// multi-process cluster tests, many nodes starting at once on two cores, failed 3 of 24 twice
    /// (different ones each time; each passed alone) and passed 24 of 24 with the profiles off.
    /// </summary>
    public static string? Name(string[] args)
    {
        if (args.Length == 0) return "demo";
        if (!Word().IsMatch(args[0]) || args[0] == "node") return null;
        return args[0] == "train" && args.Length > 1 && Word().IsMatch(args[1]) ? $"train-{args[1]}" : args[0];
    }

    /// <summary>Where the profiles go: <paramref name="setting"/> (DBP_JIT_PROFILES; "off" for none), else the XDG cache, else ~/.cache; null for none.</summary>
    public static string? Folder(string? setting, string? xdgCache, string? home)
    {
        if (setting is "off") return null;
        if (!string.IsNullOrEmpty(setting)) return Path.GetFullPath(setting);
        // The XDG rule: a relative XDG_CACHE_HOME is invalid and ignored.
        if (!string.IsNullOrEmpty(xdgCache) && Path.IsPathRooted(xdgCache)) return Path.Combine(xdgCache, "dbp", "jit");
        return string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".cache", "dbp", "jit");
    }

    [GeneratedRegex("^[a-z][a-z-]{0,31}$")]
    private static partial Regex Word();
}
