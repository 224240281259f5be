using DistributedBackprop.Actors.Failover;
using static DistributedBackprop.Actors.Failover.DowningRule;

namespace DistributedBackprop.Actors.Tests;

/// <summary>The split-brain strategy as a pure function: which side of a split cluster stays up.</summary>
public class DowningRuleTests
{
    // A cluster as a string, oldest first: S a server, W a worker; lower case for a member this node cannot reach.
    private static Decision From(string view) =>
        Decide([.. view.Select((c, i) => new Member($"n{i}", char.ToUpperInvariant(c) == 'S', char.IsUpper(c)))]);

    [Theory]
    [InlineData("SSWW", Decision.Nothing)]         // nothing unreachable
    [InlineData("sSWW", Decision.DownUnreachable)] // the active server killed: its standby's side takes over
    [InlineData("Ssww", Decision.DownReachable)]   // ... and the active, were it alive and alone, downs itself
    [InlineData("sWW", Decision.DownReachable)]    // a paused server with no standby: its workers down themselves
    [InlineData("Sww", Decision.DownUnreachable)]  // ... and the server keeps its side
    [InlineData("SsWW", Decision.DownUnreachable)] // a standby lost
    [InlineData("SSwW", Decision.DownUnreachable)] // a worker lost
    [InlineData("ssWw", Decision.DownReachable)]   // a worker cut off from everyone
    [InlineData("Ss", Decision.DownReachable)]     // two servers alone: the standby's side stays ...
    [InlineData("sS", Decision.DownUnreachable)]   // ... as the standby sees it too
    [InlineData("Ww", Decision.DownReachable)]     // no server anywhere: nothing to keep
    public void A_side_stays_up_as_the_rule_says(string view, Decision expected) => Assert.Equal(expected, From(view));

    [Theory]
    [InlineData("SSWWW")]
    [InlineData("SWSWW")]
    [InlineData("WSSWW")]
    [InlineData("SWWWW")]
    [InlineData("SSSWW")]
    public void Every_split_in_two_keeps_exactly_one_side(string cluster)
    {
        int n = cluster.Length;
        for (int mask = 1; mask < (1 << n) - 1; mask++) // every split into two non-empty sides
        {
            bool Stays(bool side)
            {
                var view = new string([.. cluster.Select((c, i) => ((mask >> i & 1) == 1) == side ? c : char.ToLowerInvariant(c))]);
                return From(view) == Decision.DownUnreachable;
            }
            Assert.True(Stays(true) != Stays(false), $"cluster {cluster}, split {Convert.ToString(mask, 2).PadLeft(n, '0')}: both sides or neither stay");
            // The side that stays holds a server whenever there is one in the cluster.
            bool serverSide = Stays(true);
            Assert.Contains(cluster.Where((_, i) => ((mask >> i & 1) == 1) == serverSide), c => c == 'S');
        }
    }
}
