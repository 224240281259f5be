using Akka.Actor;
using Akka.TestKit.Xunit2;
using DistributedBackprop.Actors;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors.Tests;

/// <summary>The server actor, with a test probe as its coordinator and every message crossing the wire format.</summary>
public class ParameterServerSpec() : TestKit(ActorSystems.Local("akka.actor.serialize-messages = on"))
{
    private static readonly TrainingSettings Settings = StepRulesTests.Settings with { Optimizer = ParameterServerRulesTests.Sgd };

    private IActorRef Server(IActorRef coordinator, CheckpointPolicy? checkpoint = null) =>
        Sys.ActorOf(ParameterServer.Props(ParameterServerRulesTests.Start(), Settings, checkpoint, coordinator));

    [Fact]
    public void A_complete_step_is_applied_once_and_reported_to_the_coordinator()
    {
        var coordinator = CreateTestProbe();
        var server = Server(coordinator);
        server.Tell(new BeginStep(1, 2, 4));
        server.Tell(ParameterServerRulesTests.Shard(1, 2, 0, 2));
        coordinator.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        server.Tell(ParameterServerRulesTests.Shard(0, 2, 4, 6));
        server.Tell(ParameterServerRulesTests.Shard(0, 2, 4, 6)); // a late duplicate
        var update = coordinator.ExpectMsg<ParameterUpdate>();
        Assert.Equal(1, coordinator.ExpectMsg<StepApplied>().Step);
        Assert.Equal([0.5f, 1.5f], update.Parameters.Single(p => p.Name == "w").Value.ToArray());
        coordinator.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        server.Tell(GetCounters.Instance, TestActor);
        var counters = ExpectMsg<ServerCounters>();
        Assert.Equal((1L, 2L, 1L), (counters.Version, counters.Step, counters.Stale));
    }

    [Fact]
    public void It_writes_its_own_checkpoint_file_for_the_step_it_is_at_and_refuses_any_other()
    {
        var dir = Directory.CreateTempSubdirectory("dbp-ps-").FullName;
        try
        {
            var policy = new CheckpointPolicy(dir, Every: 1);
            var server = Server(CreateTestProbe(), policy);
            server.Tell(new SaveCheckpoint(1), TestActor); // the state before step 1: where the server is
            Assert.Equal(new CheckpointSaved(1, null), ExpectMsg<CheckpointSaved>());
            var c = Checkpoint.Load(policy.File);
            Assert.Equal(ParameterServerRulesTests.Start().Parameters.Hash(), c.Parameters.Hash());
            Assert.Equal("1", c.Meta["next_step"]);
            Assert.Equal(CheckpointPolicy.Fingerprint(Settings), c.Meta["settings"]);

            var before = File.ReadAllBytes(policy.File);
            server.Tell(new SaveCheckpoint(2), TestActor);
            Assert.Contains("before step 1", ExpectMsg<CheckpointSaved>().Error);
            Assert.Equal(before, File.ReadAllBytes(policy.File));

            Server(CreateTestProbe()).Tell(new SaveCheckpoint(1), TestActor);
            Assert.Contains("no checkpoint", ExpectMsg<CheckpointSaved>().Error);

            Server(CreateTestProbe(), new CheckpointPolicy(Path.Combine(dir, "missing"), 1)).Tell(new SaveCheckpoint(1), TestActor);
            Assert.Contains("does not exist", ExpectMsg<CheckpointSaved>().Error);
        }
        finally { Directory.Delete(dir, true); }
    }
}
