namespace DistributedBackprop.Actors;

/// <summary>
/// What the trainer tells whoever runs it from outside its actors — a data-channel connection that closed, a
/// worker that cannot run the job, the data path's bytes and CPU. One line each on standard error, "dbp: ..."
/// as the command line's own; a hosted node (<c>dbp node</c>) sends them through its logger instead, so they
/// carry the time stamp, level and format of every other line it writes. Safe from any thread.
/// </summary>
public static class OperatorLog
{
    private static Action<bool, string> _write = (_, message) => Console.Error.WriteLine($"dbp: {message}");

    /// <summary>Where the lines go from now on: <c>warning</c> says whether the line is one.</summary>
    public static void WriteTo(Action<bool, string> write) => _write = write;

    public static void Info(string message) => _write(false, message);

    public static void Warning(string message) => _write(true, message);
}
