using Akka.Actor;
using Akka.Cluster;
using DistributedBackprop.Data;
using DistributedBackprop.Training;

namespace DistributedBackprop.Actors;

/// <summary>
/// A worker node's front door, at <c>/user/worker-host</c>: given a job description it builds the model and
/// loads the data on this node, starts a <see cref="Worker"/>, and introduces it to the asker. A node that
/// cannot run the job says why (to the asker and through <c>failed</c>) and the node leaves.
/// </summary>
public sealed class WorkerHost : ReceiveActor
{
    public const string Name = "worker-host";

    public WorkerHost(TaskCompletionSource<string> failed)
    {
        var node = Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString();
        IActorRef? worker = null;
        Receive<JobDescription>(description =>
        {
            if (worker is null)
            {
                try
                {
                    var job = description.Job ?? throw new JobException("the job description is empty");
                    var objective = job.Objective();
                    worker = Context.ActorOf(Worker.Props(objective, job.Data().Train, GradientPool.For(objective)), "worker");
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
    }

    public static Props Props(TaskCompletionSource<string> failed) => Akka.Actor.Props.Create(() => new WorkerHost(failed));
}
