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

    public WorkerHost(Func<string, (Objective Objective, Dataset Data)> load, TaskCompletionSource<string> failed)
    {
        var node = Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString();
        IActorRef? worker = null;
        Receive<JobDescription>(job =>
        {
            if (worker is null)
            {
                try
                {
                    var (objective, data) = load(job.SettingsJson);
                    worker = Context.ActorOf(Worker.Props(objective, data), "worker");
                }
                catch (Exception e) when (e is DataException or ArgumentException or IOException or FormatException or System.Text.Json.JsonException)
                {
                    Sender.Tell(new JobFailed(node, e.Message));
                    failed.TrySetResult(e.Message);
                    return;
                }
            }
            Sender.Tell(new WorkerReady(node), worker);
        });
    }

    public static Props Props(Func<string, (Objective, Dataset)> load, TaskCompletionSource<string> failed) =>
        Akka.Actor.Props.Create(() => new WorkerHost(load, failed));
}
