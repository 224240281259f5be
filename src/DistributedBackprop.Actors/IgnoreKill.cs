using Akka.Actor;

namespace DistributedBackprop.Actors;

/// <summary>
/// The supervisor of a cluster node's top-level actors (<c>akka.actor.guardian-supervisor-strategy</c> in
/// hocon/cluster.hocon): Akka's own, except that a <see cref="Kill"/> is ignored. Untrusted mode drops a
/// remote PoisonPill, but Kill is not marked as harmful in Akka.NET 1.5 and would reach the recruiter or
/// the coordinator; dbp never kills its own actors.
/// </summary>
public sealed class IgnoreKill : SupervisorStrategyConfigurator
{
    public override SupervisorStrategy Create() =>
        new OneForOneStrategy(e => e is ActorKilledException ? Directive.Resume : SupervisorStrategy.DefaultDecider.Decide(e));
}
