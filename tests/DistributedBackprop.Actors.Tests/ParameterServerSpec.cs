using Akka.Actor;
using Akka.TestKit.Xunit2;
using DistributedBackprop.Actors;

namespace DistributedBackprop.Actors.Tests;

/// <summary>The server actor, with a test probe as its coordinator and every message crossing the wire format.</summary>
public class ParameterServerSpec() : TestKit(ActorSystems.Local("akka.actor.serialize-messages = on"))
{
    [Fact]
    public void A_complete_step_is_applied_once_and_reported_to_the_coordinator()
    {
        var coordinator = CreateTestProbe();
        var server = Sys.ActorOf(ParameterServer.Props(ParameterServerRulesTests.Start(), ParameterServerRulesTests.Sgd, coordinator));
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
    public void It_writes_a_checkpoint_that_holds_its_parameters()
    {
        var dir = Directory.CreateTempSubdirectory("dbp-ps-").FullName;
        try
        {
            var server = Sys.ActorOf(ParameterServer.Props(ParameterServerRulesTests.Start(), ParameterServerRulesTests.Sgd, CreateTestProbe()));
            var path = Path.Combine(dir, "a.ckpt");
            server.Tell(new SaveCheckpoint(path, new Dictionary<string, string> { ["cursor"] = "9" }), TestActor);
            var saved = ExpectMsg<CheckpointSaved>();
            Assert.Null(saved.Error);
            var c = DistributedBackprop.Nn.Checkpoint.Load(path);
            Assert.Equal(ParameterServerRulesTests.Start().Parameters.Hash(), c.Parameters.Hash());
            Assert.Equal("9", c.Meta["cursor"]);

            server.Tell(new SaveCheckpoint(Path.Combine(dir, "missing", "b.ckpt"), new Dictionary<string, string>()), TestActor);
            Assert.NotNull(ExpectMsg<CheckpointSaved>().Error);
        }
        finally { Directory.Delete(dir, true); }
    }
}
