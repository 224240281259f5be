using System.Diagnostics;

namespace DistributedBackprop.Cli;

/// <summary>A one-line progress bar on standard error in a terminal; nothing where standard error is redirected.</summary>
public sealed class ProgressBar(string label, long total) : IDisposable
{
    private readonly bool _enabled = !Console.IsErrorRedirected;
    private readonly Stopwatch _sinceDraw = Stopwatch.StartNew();
    private bool _drawn;

    public void Report(long done, string detail)
    {
        if (!_enabled || (_sinceDraw.ElapsedMilliseconds < 100 && done < total)) return;
        _sinceDraw.Restart();
        const int width = 30;
        int filled = (int)(width * Math.Min(done, total) / Math.Max(total, 1));
        Console.Error.Write($"\r{label} [{new string('#', filled)}{new string('-', width - filled)}] {100 * done / Math.Max(total, 1),3}% {detail}   ");
        _drawn = true;
    }

    public void Dispose()
    {
        if (_drawn) Console.Error.Write("\r" + new string(' ', Console.WindowWidth > 0 ? Console.WindowWidth - 1 : 79) + "\r");
    }
}
