using Akka.Actor;
using DistributedBackprop.Nn;

namespace DistributedBackprop.Actors;

/// <summary>
/// Owns the parameters and their version. A thin actor: every decision is <see cref="ParameterServerRules.Handle"/>;
/// replies go to the coordinator, which forwards parameter updates to the workers.
/// </summary>
public sealed class ParameterServer : ReceiveActor
{
    private ServerState _state;

    public ParameterServer(ServerState initial, Optimizer optimizer, IActorRef coordinator)
    {
        _state = initial;
        Receive<GetState>(_ => Sender.Tell(new StateSnapshot(_state.Version, _state.Step, NamedTensor.From(_state.Parameters), _state.Optimizer.Step, NamedTensor.From(_state.Optimizer.Slots))));
        Receive<GetCounters>(_ => Sender.Tell(new ServerCounters(_state.Version, _state.Step, _state.Duplicates, _state.Stale)));
        Receive<SaveCheckpoint>(save =>
        {
            string? error = null;
            try
            {
                var meta = new Dictionary<string, string>(save.Meta) { ["version"] = _state.Version.ToString(), ["step"] = _state.Step.ToString() };
                new Checkpoint(_state.Parameters, optimizer.Kind, _state.Optimizer, meta).Save(save.Path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { error = e.Message; }
            Sender.Tell(new CheckpointSaved(save.Path, _state.Step, error));
        });
        Receive<IDbpMessage>(message =>
        {
            (_state, var replies) = ParameterServerRules.Handle(_state, message, optimizer);
            foreach (var reply in replies) coordinator.Tell(reply);
        });
    }

    public static Props Props(ServerState initial, Optimizer optimizer, IActorRef coordinator) =>
        Akka.Actor.Props.Create(() => new ParameterServer(initial, optimizer, coordinator));
}
