using Akka.Actor;
using Akka.Event;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors;

/// <summary>
/// Owns the parameters and their version. A thin actor: every decision is <see cref="ParameterServerRules.Handle"/>;
/// replies go to the coordinator, which forwards parameter updates to the workers. It writes the run's
/// checkpoint, to the file its run was given, when the coordinator says a step is done. It hears only its
/// own process: nothing from another node can read its state, write its checkpoint or feed it a step.
/// </summary>
public sealed class ParameterServer : ReceiveActor
{
    private ServerState _state;
    private System.Collections.Immutable.ImmutableSortedDictionary<long, ServerSnapshot> _snapshots = System.Collections.Immutable.ImmutableSortedDictionary<long, ServerSnapshot>.Empty;

    public ParameterServer(ServerState initial, TrainingSettings settings, CheckpointPolicy? checkpoint, IActorRef coordinator)
    {
        _state = initial;
        Receive<object>(_ => !Sender.Path.Address.HasLocalScope, m => Context.GetLogger().Warning("refused {0} from {1}", m.GetType().Name, Sender));
        // Copies: the server writes its buffers in place, and a snapshot may be sent on to a standby after the next step.
        Receive<GetState>(_ => Sender.Tell(new StateSnapshot(_state.Version, _state.Step, Copy(_state.Parameters), _state.Optimizer.Step, Copy(_state.Optimizer.Slots))));
        Receive<GetCounters>(_ => Sender.Tell(new ServerCounters(_state.Version, _state.Step, _state.Duplicates, _state.Stale)));
        Receive<SaveCheckpoint>(save => Sender.Tell(new CheckpointSaved(save.Step, Save(save.Step, settings, checkpoint))));
        Receive<IDbpMessage>(ServerSnapshots.Handles, message =>
        {
            (_snapshots, _state, var replies) = ServerSnapshots.Handle(_snapshots, _state, message);
            foreach (var reply in replies) coordinator.Tell(reply);
        });
        Receive<IDbpMessage>(message =>
        {
            var before = _state;
            (_state, var replies) = ParameterServerRules.Handle(_state, message, settings.Optimizer);
            ServerMetrics.Record(before, _state);
            foreach (var reply in replies) coordinator.Tell(reply);
        });
    }

    /// <summary>Writes the state before <paramref name="step"/>; null, or why not.</summary>
    private string? Save(long step, TrainingSettings settings, CheckpointPolicy? checkpoint)
    {
        if (checkpoint is null) return "this run has no checkpoint";
        if (step != _state.Step) return $"asked for the state before step {step}, the server is before step {_state.Step}";
        try { checkpoint.Save(settings, new TrainingState(_state.Parameters, _state.Optimizer, _state.Step)); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return e.Message; }
        return null;
    }

    private static NamedTensor[] Copy(Nn.Parameters<float> p) => [.. p.Select(t => new NamedTensor(t.Name, new Core.Tensor<float>(t.Value.ToArray(), t.Value.Dims)))];

    public static Props Props(ServerState initial, TrainingSettings settings, CheckpointPolicy? checkpoint, IActorRef coordinator) =>
        Akka.Actor.Props.Create(() => new ParameterServer(initial, settings, checkpoint, coordinator));
}
