using Akka.Actor;
using Microsoft.Extensions.Logging;
using DistributedBackprop.Actors;

namespace DistributedBackprop.Cli;

/// <summary>The two roles of <c>dbp node</c>: the parameter server (active or standby) and a worker, which rejoins when downed.</summary>
public static partial class NodeCommand
{
    private static int ParameterServer(Node node, string host, int port, Address[] seeds, int minWorkers, TimeSpan joinTimeout, string[] training, ClusterTls? tls)
    {
        if (JobLimits.Count("--min-workers", minWorkers, JobLimits.MaxWorkers) is { } bad) throw new UsageException(bad);
        if (training.Length == 0) throw new UsageException("the parameter server needs its job after --: train regression|fashion-mnist|csv [flags]");
        var request = TrainCommand.Parse(training);
        var model = request.Settings.Objective.Model.Parameters;
        long frame = ActorSystems.MaximumFrameSizeIn(node.Akka);
        if (JobLimits.Frame(model.Sum(p => p.Shape.Aggregate(1L, (a, d) => a * d)), model.Count, request.Settings.MicroShard, frame) is { } tooBig)
            throw new UsageException(tooBig);
        ReportRefusals(node, tls);
        using var hosted = Start(node, host, port, ActorSystems.ParameterServerRole, tls);
        var system = hosted.System;
        var cluster = Akka.Cluster.Cluster.Get(system);
        // Alone, the first node seeds itself; with seed nodes (the other server nodes), it joins them, and the
        // oldest parameter-server node is the active one, the others its standbys (Failover.ServerRole).
        // On Kubernetes, Cluster Bootstrap does the same: the lowest server pod forms the cluster, the others join it.
        if (node.Boot is { } boot) StopIfFails(hosted, () => KubernetesBootstrap.Start(system, boot));
        else if (seeds.Length == 0) cluster.Join(cluster.SelfAddress);
        else cluster.JoinSeedNodes(seeds);
        var role = new Actors.Failover.ServerRole(system, request.Settings);
        node.Log.LogInformation("parameter server {Address} started ({Tls}): active if it is the oldest of its role, else a standby", cluster.SelfAddress, Describe(tls));
        var turn = role.AwaitTurn();
        if (turn.Ended is { } over)
        {
            node.Log.LogInformation("the run ended on the active parameter server ({Outcome}); this standby leaves", over.Succeeded ? "succeeded" : over.Reason);
            Leave(system);
            return over.Succeeded ? 0 : 1;
        }
        if (turn.Stopped) throw new IOException("this parameter server was removed from the cluster while it stood by");
        // With staleness the held state is not enough: the steps after it are computed with S older versions
        // of the parameters, which a standby does not hold. It recomputes the run from its start instead: exact.
        if (request.Settings.Staleness == 0) request = request with { Start = Actors.Failover.StandbyRules.ResumeFrom(turn.Resume, request.Start) };
        node.Log.LogInformation("parameter server at {Address} ({Tls}), waiting for {Workers} worker node(s); the active parameter server, from step {Step}",
            cluster.SelfAddress, Describe(tls), minWorkers, request.Start.Step);
        var ended = new RunEnded(false, "the parameter server stopped");
        try
        {
            int code = request.Run(Console.Out, new EngineChoice.Cluster(system, request.Job, minWorkers, joinTimeout, tls, SharedMemory: node.Settings.SharedMemory));
            ended = new RunEnded(code == 0, code == 0 ? null : $"exit code {code}");
            return code;
        }
        catch (Exception e)
        {
            ended = new RunEnded(false, e.Message.Length > RunEnded.MaxReason ? e.Message[..RunEnded.MaxReason] : e.Message);
            throw;
        }
        finally
        {
            role.AnnounceEnded(ended, TimeSpan.FromSeconds(5)); // first: a standby must not take over a run that ended
            WorkerHost.AnnounceRunEnded(system, ended, TimeSpan.FromSeconds(5));
            if (tls?.Refusals > RefusalsShown) node.Log.LogWarning("refused {Count} TLS connections in all", tls.Refusals);
            Leave(system);
        }
    }

    /// <summary>Why a worker could not join: the first seed's answer to a connection tried by hand.</summary>
    private static string WhyNotJoined(Address[] seeds, ClusterTls? tls) =>
        ClusterTls.Diagnose(seeds[0].Host!, seeds[0].Port!.Value, tls, TimeSpan.FromSeconds(5));

    private static int Worker(Node node, string host, int port, Address[] seeds, TimeSpan joinTimeout, ClusterTls? tls, Func<long, Corruption?>? corrupt)
    {
        if (seeds.Length == 0 && node.Boot is null) throw new UsageException("a worker needs --seed-nodes (or DBP_SEED_NODES), e.g. akka.ssl.tcp://dbp@127.0.0.1:4053");
        ReportRefusals(node, tls);
        var seedText = node.Boot is null ? string.Join(", ", seeds.Select(s => s.ToString())) : $"the pods labelled {node.Boot.PodLabelSelector}";
        for (int incarnation = 0; ; incarnation++)
        {
            var wait = incarnation == 0 ? joinTimeout : joinTimeout > MinRejoinWait ? joinTimeout : MinRejoinWait;
            // Seeds are joined only once the worker host exists: the server sends the job as soon as this node is up.
            using var hosted = Start(node, host, port, ActorSystems.WorkerRole, tls);
            var system = hosted.System;
            var cluster = Akka.Cluster.Cluster.Get(system);
            var joined = new TaskCompletionSource();
            cluster.RegisterOnMemberUp(() => joined.TrySetResult());
            var failed = new TaskCompletionSource<string>();
            var ended = new TaskCompletionSource<RunEnded>();
            system.ActorOf(WorkerHost.Props(failed, ended, tls, corrupt, node.Settings.SharedMemory), WorkerHost.Name);
            if (node.Boot is { } boot) StopIfFails(hosted, () => KubernetesBootstrap.Start(system, boot));
            else cluster.JoinSeedNodes(seeds);
            if (!joined.Task.Wait(wait))
            {
                system.Terminate().Wait(TimeSpan.FromSeconds(10));
                var why = node.Boot is null ? WhyNotJoined(seeds, tls) : "no parameter server answered as a contact point (are its pods running, and the Role in deploy/k8s/rbac.yaml bound?)";
                throw new IOException(incarnation == 0
                    ? $"could not join the cluster through {seedText} within {wait.TotalSeconds:0} s: {why}"
                    : $"the parameter server was lost: could not rejoin through {seedText} within {wait.TotalSeconds:0} s ({why})");
            }
            if (incarnation == 0) node.Log.LogInformation("worker {Address} joined ({Tls})", cluster.SelfAddress, Describe(tls));
            else node.Log.LogInformation("worker {Address} rejoined as a new node", cluster.SelfAddress);
            var serverGone = new TaskCompletionSource<string>();
            var cutOff = new TaskCompletionSource();
            system.ActorOf(ServerWatch.Props(serverGone, cutOff));
            int finished = Task.WaitAny(ended.Task, failed.Task, serverGone.Task, system.WhenTerminated, cutOff.Task);
            // The server says how the run ended before it leaves; its leaving may still be seen first.
            if (finished == 2) ended.Task.Wait(TimeSpan.FromSeconds(3));
            if (ended.Task.IsCompleted)
            {
                Leave(system);
                return ended.Task.Result.Succeeded ? 0 : throw new IOException($"the run failed on the parameter server: {ended.Task.Result.Reason ?? "no reason given"}");
            }
            if (finished == 1)
            {
                Leave(system);
                throw new IOException($"this worker cannot run the job: {failed.Task.Result}");
            }
            if (finished == 2)
            {
                Leave(system);
                throw new IOException("the parameter server left the cluster without saying how the run ended");
            }
            // This node was downed (or quarantined by the server): paused or cut off for longer than the
            // failure detector allows. This incarnation is finished; a new one joins.
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
            if (incarnation + 1 > MaxRejoins) throw new IOException($"this node was removed from the cluster {MaxRejoins + 1} times; giving up");
            node.Log.LogWarning("worker {Address} was removed from the cluster (paused or cut off for too long); rejoining as a new node ({Count} of {Max})", cluster.SelfAddress, incarnation + 1, MaxRejoins);
        }
    }
}
