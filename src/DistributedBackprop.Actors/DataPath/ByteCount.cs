using DistributedBackprop.Training;

namespace DistributedBackprop.Actors.DataPath;

/// <summary>The data path's byte counts: its own total (for its log line) and the process's metric.</summary>
internal static class ByteCount
{
    public static void Add(ref long total, long bytes)
    {
        Interlocked.Add(ref total, bytes);
        TrainingMetrics.BytesMoved.Add(bytes);
    }
}
