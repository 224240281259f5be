using System.Diagnostics;
using System.Globalization;

namespace DistributedBackprop.Cli;

/// <summary>
/// A one-line progress bar on standard error in a terminal — redrawn in place, never wider than the terminal,
/// with the rate and the time left — and nothing where standard error is redirected (logs get the results'
/// own lines). <see cref="Phase"/> says what the tool is doing between bars (loading, evaluating).
/// </summary>
public sealed class ProgressBar(string label, long total) : IDisposable
{
    private readonly bool _enabled = !Console.IsErrorRedirected;
    private readonly Stopwatch _clock = Stopwatch.StartNew(), _sinceDraw = Stopwatch.StartNew();
    private bool _drawn;

    public void Report(long done, string detail)
    {
        if (!_enabled || (_sinceDraw.ElapsedMilliseconds < 100 && done < total)) return;
        _sinceDraw.Restart();
        int width = Width();
        Console.Error.Write("\r" + Line(label, done, total, detail, _clock.Elapsed.TotalSeconds, width).PadRight(width - 1));
        _drawn = true;
    }

    /// <summary>
    /// The line for <paramref name="width"/> columns: label, bar, percentage, detail, steps/s and time left; the
    /// bar shrinks first, then the line is cut, so it never wraps. A pure function.
    /// </summary>
    public static string Line(string label, long done, long total, string detail, double seconds, int width)
    {
        total = Math.Max(total, 1);
        done = Math.Clamp(done, 0, total);
        double rate = seconds > 0 ? done / seconds : 0;
        var left = rate > 0 ? TimeSpan.FromSeconds((total - done) / rate) : TimeSpan.Zero;
        var tail = string.Create(CultureInfo.InvariantCulture, $" {100 * done / total,3}% {detail}, {rate:F0} steps/s, {(int)left.TotalMinutes}:{left.Seconds:00} left");
        int room = Math.Min(30, width - 1 - label.Length - tail.Length - 3);
        var line = room >= 5
            ? $"{label} [{new string('#', (int)(room * done / total))}{new string('-', room - (int)(room * done / total))}]{tail}"
            : label + tail;
        return line.Length <= width - 1 ? line : line[..Math.Max(0, width - 1)];
    }

    /// <summary>One line saying what is being done, in a terminal only.</summary>
    public static void Phase(string what)
    {
        if (!Console.IsErrorRedirected) Console.Error.WriteLine($"dbp: {what}");
    }

    private static int Width()
    {
        try { return Console.WindowWidth > 10 ? Console.WindowWidth : 80; }
        catch (IOException) { return 80; }
    }

    public void Dispose()
    {
        if (_drawn) Console.Error.Write("\r" + new string(' ', Width() - 1) + "\r");
    }
}
