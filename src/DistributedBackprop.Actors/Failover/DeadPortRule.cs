namespace DistributedBackprop.Actors.Failover;

/// <summary>
/// When a node's connection drops, whether its process is gone: a pure function of what the node's remoting
/// port answered. A process killed with kill -9 (or crashed) leaves its port closed, and the kernel of its
/// machine answers a connection attempt with a refusal at once; a paused or busy process, or one cut off by
/// the network, still has its port open or does not answer at all. So a member whose port refuses every one
/// of <see cref="Attempts"/> tries is downed at once, without the failure detector's 8 s and the resolver's
/// 3 s, and everything else is left to them. A member that is leaving (its port closes as it goes) is left
/// alone. Not for a network with a firewall that rejects (not drops) traffic between the nodes: there a
/// refusal does not mean a dead process: <c>akka.cluster.split-brain-resolver.down-refusing-ports = off</c> turns it off.
/// </summary>
public static class DeadPortRule
{
    /// <summary>Tries before a member is taken for dead: a port being re-bound by a restarting process is not refused three times in 0.4 s.</summary>
    public const int Attempts = 3;

    public static readonly TimeSpan Between = TimeSpan.FromMilliseconds(200);

    /// <summary>How long a try may take: a port that does not answer in this time is not refusing.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(1);

    public enum Answer { Refused, Accepted, Silent }

    public enum Verdict { TryAgain, Down, LeaveIt }

    /// <summary>
    /// After the answers so far to tries at a member's port: whether to try again, down it, or leave it to
    /// the failure detector. <paramref name="live"/>: the member is in the cluster and not leaving or down.
    /// </summary>
    public static Verdict After(bool live, IReadOnlyList<Answer> answers)
    {
        if (!live || answers.Any(a => a != Answer.Refused)) return Verdict.LeaveIt;
        return answers.Count >= Attempts ? Verdict.Down : Verdict.TryAgain;
    }
}
