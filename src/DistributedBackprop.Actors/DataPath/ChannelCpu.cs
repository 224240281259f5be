using System.Globalization;

namespace DistributedBackprop.Actors.DataPath;

/// <summary>
/// The CPU time this process has spent on its data path: its data-path threads' (named <c>dbp-data-*</c> and
/// <c>dbp-link-*</c>: reading and writing frames, copying tensors in and out), read from Linux's
/// <c>/proc/self/task/*/stat</c> and from each thread's own as it ends, less what those threads spent inside
/// deliveries to actors (Akka's channel executor may run the receiving actor there and then: a worker's whole
/// step), plus the frames senders wrote on their own threads (<see cref="Connection.Send"/>), each timed by
/// its thread's CPU clock. Null where there is no /proc.
/// </summary>
public static partial class ChannelCpu
{
    private static long _endedTicks, _excludedNs, _includedNs;

    /// <summary>This thread's CPU time in nanoseconds (Linux's CLOCK_THREAD_CPUTIME_ID, about 1.5 µs a call here); 0 elsewhere.</summary>
    internal static unsafe long ThreadNanoseconds()
    {
        if (!OperatingSystem.IsLinux()) return 0;
        var ts = stackalloc long[2];
        return ClockGetTime(3, ts) == 0 ? ts[0] * 1_000_000_000 + ts[1] : 0;
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static unsafe partial int ClockGetTime(int clock, long* timespec);

    /// <summary>Tells <paramref name="actor"/> from a data-path thread, the CPU of whatever the tell runs on this thread left out of the count.</summary>
    /// <returns>The nanoseconds left out.</returns>
    internal static long Deliver(Akka.Actor.ICanTell actor, object message)
    {
        long start = ThreadNanoseconds();
        actor.Tell(message, Akka.Actor.ActorRefs.NoSender);
        long spent = ThreadNanoseconds() - start;
        Interlocked.Add(ref _excludedNs, spent);
        return spent;
    }

    /// <summary>Counts CPU spent on the data path on a thread that is not one of its own (a frame written by its sender).</summary>
    internal static void Include(long nanoseconds) => Interlocked.Add(ref _includedNs, nanoseconds);

    public static TimeSpan? Used()
    {
        const string tasks = "/proc/self/task";
        if (!Directory.Exists(tasks)) return null;
        long ticks = Interlocked.Read(ref _endedTicks);
        foreach (var task in Directory.EnumerateDirectories(tasks))
            if (Ticks(task) is { } t) ticks += t;
        double seconds = ticks / 100.0 // USER_HZ is 100 on Linux
            + (Interlocked.Read(ref _includedNs) - Interlocked.Read(ref _excludedNs)) / 1e9;
        return TimeSpan.FromSeconds(Math.Max(0, seconds));
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
            ? string.Create(CultureInfo.InvariantCulture, $"data channel: {mb:F1} MB of tensors, {cpu.TotalMilliseconds:F0} ms of CPU on the data path ({cpu.TotalMilliseconds / mb:F2} ms per MB)")
            : string.Create(CultureInfo.InvariantCulture, $"data channel: {mb:F1} MB of tensors");
    }
}
