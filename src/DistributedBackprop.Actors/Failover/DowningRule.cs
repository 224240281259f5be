namespace DistributedBackprop.Actors.Failover;

/// <summary>
/// Which side of a split cluster stays up: the split-brain strategy of <see cref="ServerSideDowning"/>, as a
/// pure function. The side with the oldest parameter-server node (the active one: the singleton runs on the
/// oldest node of the role) stays, and downs the other — unless that node is alone on its side and a
/// standby is on the other: then the standby's side stays, and takes over. So a killed or cut-off active
/// server is replaced whenever a standby exists, a paused server with no standby is never downed by its
/// workers (they down themselves, and dbp node starts them again), and a lost standby or worker is downed.
/// None of Akka's own strategies does this with two servers: keep-oldest by role keeps the oldest even when
/// it is alone against the other server, keep-majority by role breaks a tie by address, and keep-oldest over
/// all nodes downs a lone paused server that has no standby.
/// </summary>
public static class DowningRule
{
    public enum Decision { Nothing, DownUnreachable, DownReachable }

    /// <summary>A member as this node sees it (members not yet downed, oldest first).</summary>
    public readonly record struct Member(string Node, bool Server, bool Reachable);

    public static Decision Decide(IReadOnlyList<Member> oldestFirst)
    {
        var unreachable = oldestFirst.Where(m => !m.Reachable).ToList();
        if (unreachable.Count == 0) return Decision.Nothing;
        var reachable = oldestFirst.Where(m => m.Reachable).ToList();
        if (oldestFirst.FirstOrDefault(m => m.Server) is not { Node: not null } oldest) return Decision.DownReachable; // no server anywhere: nothing to keep
        if (oldest.Reachable)
            return reachable.Count == 1 && unreachable.Any(m => m.Server) ? Decision.DownReachable : Decision.DownUnreachable;
        return unreachable.Count == 1 && reachable.Any(m => m.Server) ? Decision.DownUnreachable : Decision.DownReachable;
    }
}
