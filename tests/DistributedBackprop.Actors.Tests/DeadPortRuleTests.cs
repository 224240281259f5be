using DistributedBackprop.Actors.Failover;
using static DistributedBackprop.Actors.Failover.DeadPortRule;

namespace DistributedBackprop.Actors.Tests;

/// <summary>When a node whose connection dropped is taken for dead: only when its port refuses every try.</summary>
public class DeadPortRuleTests
{
    [Fact]
    public void A_port_that_refuses_every_try_is_a_dead_process_and_is_downed_after_the_last()
    {
        Assert.Equal(Verdict.TryAgain, After(live: true, [Answer.Refused]));
        Assert.Equal(Verdict.TryAgain, After(live: true, [.. Enumerable.Repeat(Answer.Refused, Attempts - 1)]));
        Assert.Equal(Verdict.Down, After(live: true, [.. Enumerable.Repeat(Answer.Refused, Attempts)]));
    }

    [Theory]
    [InlineData(Answer.Accepted)] // a paused or busy process: its port is still open
    [InlineData(Answer.Silent)]   // cut off by the network, or a machine that is gone: the failure detector decides
    public void One_answer_other_than_a_refusal_leaves_the_node_to_the_failure_detector(Answer answer)
    {
        Assert.Equal(Verdict.LeaveIt, After(live: true, [answer]));
        Assert.Equal(Verdict.LeaveIt, After(live: true, [Answer.Refused, answer]));
        Assert.Equal(Verdict.LeaveIt, After(live: true, [Answer.Refused, Answer.Refused, answer]));
    }

    [Fact]
    public void A_member_that_is_leaving_or_gone_is_never_downed_however_its_port_answers() =>
        Assert.Equal(Verdict.LeaveIt, After(live: false, [.. Enumerable.Repeat(Answer.Refused, Attempts)]));
}
