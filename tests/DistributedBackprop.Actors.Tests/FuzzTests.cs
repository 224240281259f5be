using System.Runtime.Serialization;
using Akka.Actor;
using DistributedBackprop.Actors;
using DistributedBackprop.Core;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors.Tests;

/// <summary>
/// Valid messages with a few bytes changed, thousands of times, through the wire format and then through every
/// rule that would receive what decoded: each is refused by the wire format or handled by the rule, and no rule
/// throws (an exception inside an actor is what this guards against).
/// </summary>
public class FuzzTests : IDisposable
{
    private readonly ActorSystem _system = ActorSystems.CreateLocal("fuzz");
    public void Dispose() => _system.Dispose();

    private static readonly TrainingSettings Settings = StepRulesTests.Settings;

    private static NamedTensor[] Tensors(float value) =>
        [.. Settings.Objective.Model.Parameters.Select(p => new NamedTensor(p.Name, Tensor<float>.Filled(value, p.Shape)))];

    private static IDbpMessage[] Valid() =>
    [
        new GradientShard(0, 0, 0, 2, 8, 1.5, Tensors(0.25f)),
        new GradientShard(0, 0, 2, 1, 2, 0.5, Tensors(-1f)),
        new BeginStep(0, 3, 10),
        new ComputeShard(0, 0, 0, 2, 4, [0, 1, 2, 3, 4, 5, 6, 7]),
        new ParameterUpdate(1, Tensors(2f)),
        new StepApplied(0, 1, 0.5),
        new SaveCheckpoint(1),
        new JobDescription(new TrainingJob(TrainingJob.Regression, [8, 8], "tanh", 200, 0, null), "127.0.0.1:5000", "token"),
    ];

    [Fact]
    public void Mutated_messages_are_refused_by_the_wire_format_or_handled_by_the_rules_and_nothing_throws()
    {
        var wire = new WireFormat((ExtendedActorSystem)_system);
        var rng = new Rng(21);
        var valid = Valid();
        var start = TrainingState.Start(Settings);
        var server = ParameterServerRules.Handle(ServerState.Start(start.Parameters, start.Optimizer, 0, 0), new BeginStep(0, 3, 10), Settings.Optimizer).State;
        var plan = new StepPlan(Settings, 3, null, false, TimeSpan.FromSeconds(1));
        var coordinator = StepRules.Handle(StepRules.Handle(StepState<string>.Start(plan, 0, new ParameterUpdate(0, Tensors(0))), new StepEvent<string>.Started()).State,
            new StepEvent<string>.Joined(["a", "b"])).State;
        int refused = 0, handled = 0;
        const int Trials = 6000;
        for (int i = 0; i < Trials; i++)
        {
            var message = valid[rng.NextInt(valid.Length)];
            var bytes = wire.ToBinary(message);
            for (int flips = 1 + rng.NextInt(4); flips > 0; flips--) bytes[rng.NextInt(bytes.Length)] = (byte)rng.NextInt(256);
            if (rng.NextInt(10) == 0) bytes = bytes[..rng.NextInt(bytes.Length)]; // cut short, now and then
            object decoded;
            try { decoded = wire.FromBinary(bytes, wire.Manifest(message)); }
            catch (SerializationException) { refused++; continue; }
            handled++;
            if (decoded is IDbpMessage m) ParameterServerRules.Handle(server, m, Settings.Optimizer);
            switch (decoded)
            {
                case GradientShard g:
                    StepRules.Handle(coordinator, new StepEvent<string>.GradientPassed("a", g));
                    StepRules.Handle(coordinator, new StepEvent<string>.GradientPassed("b", g));
                    break;
                case ComputeShard c: Worker.Problem(c, examples: 10); break;
                case ParameterUpdate u: Worker.Fits(u, Settings.Objective); break;
                case StepApplied a: StepRules.Handle(coordinator, new StepEvent<string>.Applied(a)); break;
            }
        }
        Assert.Equal(Trials, refused + handled);
        Assert.True(refused > Trials / 10, $"{refused} refused"); // the wire format does refuse
        Assert.True(handled > Trials / 10, $"{handled} handled"); // and the rules do see mutated messages
    }
}
