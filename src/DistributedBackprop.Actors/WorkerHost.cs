using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using DistributedBackprop.Data;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors;

/// <summary>
/// A worker node's front door, at <c>/user/worker-host</c>: given a job description it checks it against
/// <see cref="JobLimits"/>, builds the model and loads the data on this node, starts a <see cref="Worker"/>,
/// and introduces it to the asker. A node that cannot run the job says why (to the asker and through
/// <c>failed</c>) and the node leaves. At the end of the run the parameter server says how it ended
/// (<see cref="RunEnded"/>, acknowledged with the same message). It takes both only from the cluster's
/// parameter-server member; anything else is counted and dropped.
/// </summary>
public sealed class WorkerHost : ReceiveActor
{
    public const string Name = "worker-host";

    public WorkerHost(TaskCompletionSource<string> failed, TaskCompletionSource<RunEnded> ended, ClusterTls? tls, Func<long, Corruption?>? corrupt, string? sharedMemory)
    {
        var cluster = Akka.Cluster.Cluster.Get(Context.System);
        var node = cluster.SelfAddress.ToString();
        IActorRef? worker = null;
        Address? server = null;          // the parameter-server node the worker works for
        DataPath.DataLink? link = null;
        (byte[] Job, PreparedJob Prepared, GradientPool Pool)? built = null; // kept for a standby server that takes over the same job
        int incarnation = 0;
        Receive<JobDescription>(description =>
        {
            if (!FromServer(cluster, Sender)) return;
            if (worker is not null && server != Sender.Path.Address)
            {
                // Another server node offers the job: the active one was lost and a standby took over. The
                // worker served the old one only; a new one serves the new one, on its data channel.
                Context.Stop(worker);
                link?.Dispose();
                (worker, link) = (null, null);
            }
            if (worker is null)
            {
                try
                {
                    var job = description.Job ?? throw new JobException("the job description is empty");
                    if (Check(job) is { } problem) throw new JobException(problem);
                    var bytes = MessagePack.MessagePackSerializer.Serialize(job, WireFormat.Options);
                    if (built is not { } same || !same.Job.AsSpan().SequenceEqual(bytes))
                    {
                        var prepared = job.Prepare(loadHeld: false); // the model and the training data, read once
                        built = (bytes, prepared, GradientPool.For(prepared.Objective));
                    }
                    var (_, ready, pool) = built.Value;
                    worker = Context.ActorOf(Worker.Props(ready.Objective, ready.Train, pool, Sender.Path.Address, corrupt), $"worker-{incarnation++}");
                    server = Sender.Path.Address;
                    if (description is { DataEndpoint: string endpoint, DataToken: string token })
                        link = Link(endpoint, token, ready.Objective, pool, worker, tls, sharedMemory);
                }
                catch (Exception e) when (e is JobException or DataException or ArgumentException or IOException)
                {
                    Sender.Tell(new JobFailed(node, e.Message));
                    failed.TrySetResult(e.Message);
                    return;
                }
            }
            Sender.Tell(new WorkerReady(node), worker);
        });
        Receive<RunEnded>(e =>
        {
            if (!FromServer(cluster, Sender)) return;
            Sender.Tell(e);
            ended.TrySetResult(e);
        });
    }

    /// <summary>The data channel, if it can be reached: without it, tensors go by Akka, as slowly as that is.</summary>
    private static DataPath.DataLink? Link(string endpoint, string token, Objective objective, GradientPool pool, IActorRef worker, ClusterTls? tls, string? sharedMemory)
    {
        try
        {
            var link = DataPath.DataLink.Connect(endpoint, token, Akka.Cluster.Cluster.Get(Context.System).SelfAddress, DataPath.ChannelModel.Of(objective), pool, worker, tls, sharedMemory);
            worker.Tell(new Worker.UseLink(link));
            return link;
        }
        catch (Exception e) when (e is IOException or DataPath.ChannelException)
        {
            Context.GetLogger().Warning("no data channel ({0}): tensors go by Akka", e.Message);
            return null;
        }
    }

    /// <summary>What this node will not build, whoever asks: the same bounds as the command line's.</summary>
    private static string? Check(TrainingJob job) =>
        (job.Hidden is null ? "the model has no hidden layers" : JobLimits.Model("the job's hidden layers", job.Task == TrainingJob.Fashion ? 784 : 1, job.Hidden, job.Task == TrainingJob.Fashion ? FashionMnist.Classes : 1))
        ?? (job.Task == TrainingJob.Regression ? JobLimits.Count("the job's samples", job.Samples, JobLimits.MaxSamples) : null);

    /// <summary>Only the parameter-server member may offer a job or end a run.</summary>
    private static bool FromServer(Akka.Cluster.Cluster cluster, IActorRef sender) =>
        cluster.State.Members.Any(m => m.Address == sender.Path.Address && m.HasRole(ActorSystems.ParameterServerRole)
            && m.Status is MemberStatus.Up or MemberStatus.Leaving);

    /// <summary>
    /// A worker that throws is stopped (its node's coordinator sees it go and hands its shards on), never
    /// restarted with nothing; a Kill from elsewhere — which untrusted mode lets through — is ignored.
    /// </summary>
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(e => e is ActorKilledException ? Directive.Resume : Directive.Stop);

    /// <remarks><paramref name="corrupt"/> is the fault harness's (<c>dbp node --role worker --chaos</c>): from which step this node computes wrong;
    /// <paramref name="sharedMemory"/>, this machine's tmpfs directory, where a server on it offers shared memory (none: the socket only).</remarks>
    public static Props Props(TaskCompletionSource<string> failed, TaskCompletionSource<RunEnded> ended, ClusterTls? tls = null, Func<long, Corruption?>? corrupt = null,
        string? sharedMemory = null) =>
        Akka.Actor.Props.Create(() => new WorkerHost(failed, ended, tls, corrupt, sharedMemory));

    /// <summary>
    /// On the parameter-server node: tells every worker node how the run ended — those up and those still
    /// joining (a worker rejoining after a pause) — and waits for each to acknowledge, asking again a few
    /// times (at most <paramref name="limit"/> in all). Returns how many did.
    /// </summary>
    public static int AnnounceRunEnded(ActorSystem system, RunEnded message, TimeSpan limit)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        var workers = cluster.State.Members
            .Where(m => m.HasRole(ActorSystems.WorkerRole) && m.Status is MemberStatus.Up or MemberStatus.Joining or MemberStatus.WeaklyUp
                && !cluster.State.Unreachable.Contains(m))
            .Select(m => m.Address);
        return Announce(system, workers, Name, message, limit);
    }

    /// <summary>Sends <paramref name="message"/> to <c>/user/<paramref name="actor"/></c> on each node until it is echoed back, within <paramref name="limit"/>; how many echoed.</summary>
    public static int Announce(ActorSystem system, IEnumerable<Address> nodes, string actor, RunEnded message, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        var pending = nodes.ToHashSet();
        int acknowledged = 0;
        while (pending.Count > 0 && DateTime.UtcNow < deadline)
        {
            var asks = pending.ToDictionary(a => a, a => system.ActorSelection(new RootActorPath(a) / "user" / actor)
                .Ask<RunEnded>(message, TimeSpan.FromMilliseconds(700)));
            foreach (var (address, ask) in asks)
            {
                try { ask.Wait(); }
                catch (AggregateException) { continue; } // no answer yet: asked again
                pending.Remove(address);
                acknowledged++;
            }
        }
        return acknowledged;
    }
}
