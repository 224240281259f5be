using System.Globalization;

namespace DistributedBackprop.Actors.DataPath;

/// <summary>
/// The CPU time this process has spent in its data-path threads (named <c>dbp-data-*</c> and
/// <c>dbp-link-*</c>): reading and writing frames, copying tensors in and out of the kernel. Read from Linux's
/// <c>/proc/self/task/*/stat</c>, and from each thread's own as it ends; null elsewhere.
/// </summary>
public static class ChannelCpu
{
    private static long _endedTicks;

    public static TimeSpan? Used()
    {
        const string tasks = "/proc/self/task";
        if (!Directory.Exists(tasks)) return null;
        long ticks = Interlocked.Read(ref _endedTicks);
        foreach (var task in Directory.EnumerateDirectories(tasks))
            if (Ticks(task) is { } t) ticks += t;
        return TimeSpan.FromSeconds(ticks / 100.0); // USER_HZ is 100 on Linux
    }

    /// <summary>Called by a data-path thread as it ends, so that its time still counts.</summary>
    internal static void ThreadEnding()
    {
        if (Ticks("/proc/thread-self") is { } t) Interlocked.Add(ref _endedTicks, t);
    }

    private static long? Ticks(string task)
    {
        try
        {
            if (!DataPath(File.ReadAllText(Path.Combine(task, "comm")))) return null;
            var stat = File.ReadAllText(Path.Combine(task, "stat"));
            // After the name in parentheses come the state and fields 4 on; utime and stime are fields 14 and 15.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[11]) + long.Parse(fields[12]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null; // not Linux's, or a thread that ended meanwhile
        }
    }

    /// <summary>The data path's threads by name: not the matrix products' dbp-gemm helpers, whose time is the arithmetic's.</summary>
    internal static bool DataPath(string thread) =>
        thread.StartsWith("dbp-data-", StringComparison.Ordinal) || thread.StartsWith("dbp-link-", StringComparison.Ordinal);

    /// <summary>One line for a node's log: how much the data path moved here, and its CPU for each megabyte.</summary>
    public static string Report(long bytes)
    {
        double mb = bytes / 1e6;
        return Used() is { } cpu && mb > 0
            ? string.Create(CultureInfo.InvariantCulture, $"data channel: {mb:F1} MB of tensors, {cpu.TotalMilliseconds:F0} ms of CPU in its threads ({cpu.TotalMilliseconds / mb:F2} ms per MB)")
            : string.Create(CultureInfo.InvariantCulture, $"data channel: {mb:F1} MB of tensors");
    }
}
