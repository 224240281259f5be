using System.Globalization;
using System.Runtime.InteropServices;

namespace DistributedBackprop.Actors.DataPath;

/// <summary>
/// The CPU time this process has spent in its data-path threads (named <c>dbp-data-*</c> and
/// <c>dbp-link-*</c>): reading and writing frames, copying tensors in and out of the kernel. Read from Linux's
/// <c>/proc/self/task/*/stat</c>, and from each thread's own as it ends; null elsewhere. An actor that runs
/// on the thread that delivered its message (a cluster node's executor may do that) spends its time there
/// too: <see cref="Deliver"/> takes it out again, so the figure stays the data path's own.
/// </summary>
public static class ChannelCpu
{
    private static long _endedTicks, _lentNanoseconds, _deliveries;

    public static TimeSpan? Used()
    {
        const string tasks = "/proc/self/task";
        if (!Directory.Exists(tasks)) return null;
        long ticks = Interlocked.Read(ref _endedTicks);
        foreach (var task in Directory.EnumerateDirectories(tasks))
            if (Ticks(task) is { } t) ticks += t;
        // USER_HZ is 100 on Linux
        return TimeSpan.FromSeconds(Math.Max(0, ticks / 100.0 - Interlocked.Read(ref _lentNanoseconds) / 1e9));
    }

    /// <summary>Hands a frame's message to its actor, not counting what the actor does if it runs on this thread.</summary>
    /// <remarks>
    /// Reading a thread's CPU time is a system call, which on a virtual machine costs about as much as the
    /// frame: one delivery in <paramref name="every"/> is timed, and stands for that many (the step it runs is
    /// the same work every time).
    /// </remarks>
    internal static void Deliver(Action tell, int every = 16)
    {
        if (Interlocked.Increment(ref _deliveries) % every != 0)
        {
            tell();
            return;
        }
        long before = ThreadNanoseconds();
        tell();
        long after = ThreadNanoseconds();
        if (before >= 0 && after > before) Interlocked.Add(ref _lentNanoseconds, (after - before) * every);
    }

    private struct TimeSpec { public long Seconds, Nanoseconds; }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    /// <summary>This thread's CPU time (CLOCK_THREAD_CPUTIME_ID), or -1 where there is none.</summary>
    private static long ThreadNanoseconds()
    {
        const int threadCpuTime = 3;
        return OperatingSystem.IsLinux() && ClockGetTime(threadCpuTime, out var t) == 0 ? t.Seconds * 1_000_000_000 + t.Nanoseconds : -1;
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
