using Microsoft.Extensions.Logging;

namespace DistributedBackprop.Cli;

/// <summary>
/// A Microsoft.Extensions.Logging provider that writes <see cref="LogLines"/> to standard error (or any
/// writer), at once and under one lock: standard output is dbp's results, and a node's last line on standard
/// error must be its one-line reason for exiting, which a queued console logger could still be behind.
/// </summary>
public sealed class LogWriter(TextWriter writer, LogFormat format, bool stackTraces, Func<DateTimeOffset>? clock = null) : ILoggerProvider
{
    private readonly Lock _lock = new();
    private readonly Func<DateTimeOffset> _clock = clock ?? (() => DateTimeOffset.UtcNow);

    public ILogger CreateLogger(string categoryName) => new Category(this, categoryName);

    public void Dispose() { lock (_lock) writer.Flush(); }

    private void Write(LogLevel level, string category, string message, Exception? exception)
    {
        var line = format == LogFormat.Json
            ? LogLines.Json(_clock(), level, category, message, exception, stackTraces)
            : LogLines.Text(_clock(), level, category, message, exception, stackTraces);
        lock (_lock) { writer.WriteLine(line); writer.Flush(); }
    }

    private sealed class Category(LogWriter owner, string name) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) owner.Write(logLevel, name, formatter(state, exception), exception);
        }
    }
}
