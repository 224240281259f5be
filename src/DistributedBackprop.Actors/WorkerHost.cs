using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
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
                    var prepared = job.Prepare(loadHeld: false); // the model and the training data, read once
                    var objective = prepared.Objective;
                    var pool = GradientPool.For(objective);
                    worker = Context.ActorOf(Worker.Props(objective, prepared.Train, pool), "worker");
                    if (description is { DataEndpoint: string endpoint, DataToken: string token })
                        Link(endpoint, token, objective, pool, worker);
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

    /// <summary>The data channel, if it can be reached: without it, tensors go by Akka, as slowly as that is.</summary>
    private static void Link(string endpoint, string token, Objective objective, GradientPool pool, IActorRef worker)
    {
        try
        {
            var link = DataPath.DataLink.Connect(endpoint, token, Akka.Cluster.Cluster.Get(Context.System).SelfAddress, DataPath.ChannelModel.Of(objective), pool, worker);
            worker.Tell(new Worker.UseLink(link));
        }
        catch (Exception e) when (e is IOException or DataPath.ChannelException)
        {
            Context.GetLogger().Warning("no data channel ({0}): tensors go by Akka", e.Message);
        }
    }

    public static Props Props(TaskCompletionSource<string> failed) => Akka.Actor.Props.Create(() => new WorkerHost(failed));
}
