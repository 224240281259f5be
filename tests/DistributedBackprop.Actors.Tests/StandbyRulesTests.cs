using DistributedBackprop.Actors.Failover;
using DistributedBackprop.Core;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors.Tests;

/// <summary>What a standby server keeps of the states the active one sends, and what it resumes from.</summary>
public class StandbyRulesTests
{
    private static readonly TrainingSettings Settings = LocalEngineTests.Settings(steps: 12, optimizer: new Adam(0.01));
    private static readonly StandbyRules.Layout Layout = StandbyRules.Layout.Of(Settings);

    private static TrainingState After(long steps) => new Trainer(Settings, LocalEngineTests.Data).Run(TrainingState.Start(Settings), steps);

    private static StateSnapshot Snapshot(TrainingState s) =>
        new(s.Step, s.Step, NamedTensor.From(s.Parameters), s.Optimizer.Step, NamedTensor.From(s.Optimizer.Slots));

    [Fact]
    public void A_complete_newer_state_is_kept_as_it_was_sent()
    {
        var sent = After(4);
        var (held, refused) = StandbyRules.Accept(null, Snapshot(sent), Layout);
        Assert.Null(refused);
        Assert.Equal(4, held!.Step);
        Assert.Equal(sent.Parameters.Hash(), held.Parameters.Hash());
        Assert.Equal(sent.Optimizer.Slots.Hash(), held.Optimizer.Slots.Hash());
        Assert.Equal(sent.Optimizer.Step, held.Optimizer.Step);
    }

    [Fact]
    public void An_older_or_repeated_state_leaves_the_newer_one_held()
    {
        var (held, _) = StandbyRules.Accept(null, Snapshot(After(6)), Layout);
        foreach (var late in new[] { After(3), After(6) })
        {
            var (still, refused) = StandbyRules.Accept(held, Snapshot(late), Layout);
            Assert.Null(refused);
            Assert.Same(held, still);
        }
    }

    [Fact]
    public void The_last_steps_state_is_not_kept_so_a_new_active_node_has_a_step_to_take()
    {
        var (held, _) = StandbyRules.Accept(null, Snapshot(After(11)), Layout);
        var (after, refused) = StandbyRules.Accept(held, Snapshot(After(12)), Layout);
        Assert.Null(refused);
        Assert.Equal(11, after!.Step);
    }

    public static TheoryData<string> Broken() => ["no parameters", "a parameter left out", "renamed", "reshaped", "NaN", "a null tensor", "no slots", "version", "optimizer ahead", "negative step"];

    [Theory]
    [MemberData(nameof(Broken))]
    public void A_state_that_is_not_this_jobs_is_refused_and_the_held_one_kept(string how)
    {
        var (held, _) = StandbyRules.Accept(null, Snapshot(After(2)), Layout);
        var good = Snapshot(After(5));
        var p = good.Parameters;
        var bad = how switch
        {
            "no parameters" => good with { Parameters = null! },
            "a parameter left out" => good with { Parameters = p[1..] },
            "renamed" => good with { Parameters = [new NamedTensor("other", p[0].Value), .. p[1..]] },
            "reshaped" => good with { Parameters = [new NamedTensor(p[0].Name, Tensor<float>.Vector(p[0].Value.ToArray())), .. p[1..]] },
            "NaN" => good with { Parameters = [new NamedTensor(p[0].Name, Tensor<float>.FromArray(p[0].Value.ToArray().Select((x, i) => i == 0 ? float.NaN : x).ToArray(), p[0].Value.Shape.ToArray())), .. p[1..]] },
            "a null tensor" => good with { Parameters = [null!, .. p[1..]] },
            "no slots" => good with { Slots = [] },
            "version" => good with { Version = good.Step + 1 },
            "optimizer ahead" => good with { OptimizerStep = good.Step + 1 },
            "negative step" => good with { Step = -1, Version = -1 },
            _ => throw new ArgumentException(how),
        };
        var (after, refused) = StandbyRules.Accept(held, bad, Layout);
        Assert.NotNull(refused);
        Assert.Same(held, after);
    }

    [Fact]
    public void A_new_active_node_resumes_from_the_newest_state_ahead_of_the_runs_start()
    {
        var start = TrainingState.Start(Settings);
        var held = After(5);
        Assert.Same(held, StandbyRules.ResumeFrom(held, start));
        Assert.Same(start, StandbyRules.ResumeFrom(null, start));
        var resumedFurther = After(7); // the run itself started from a checkpoint further on
        Assert.Same(resumedFurther, StandbyRules.ResumeFrom(held, resumedFurther));
    }

    [Fact]
    public void Resuming_from_a_kept_state_ends_with_the_undisturbed_runs_parameters()
    {
        var undisturbed = After(Settings.Steps).Parameters.Hash();
        for (long k = 1; k < Settings.Steps; k += 3)
        {
            var (held, _) = StandbyRules.Accept(null, Snapshot(After(k)), Layout);
            var from = StandbyRules.ResumeFrom(held, TrainingState.Start(Settings));
            Assert.Equal(k, from.Step);
            var resumed = new Trainer(Settings, LocalEngineTests.Data).Run(from, Settings.Steps);
            Assert.Equal(undisturbed, resumed.Parameters.Hash());
        }
    }
}
