using System.Collections.Concurrent;
using System.Net.Sockets;
using Akka.Actor;
using DistributedBackprop.Actors;
using DistributedBackprop.Training;

namespace DistributedBackprop.Cluster.Tests;

/// <summary>
/// Rogues against a training cluster on 127.0.0.1: nodes with another certificate or none, an idle TCP
/// connection, and a process that holds the cluster's certificate but never joins and sends what a worker
/// or a server would. None gets anything, and the run ends with the undisturbed param_hash.
/// </summary>
public class TrustTests
{
    /// <summary>Records whatever reaches it: a rogue's stand-in for a worker.</summary>
    private sealed class Listener : ReceiveActor
    {
        public Listener(ConcurrentQueue<object> got) => ReceiveAny(got.Enqueue);
    }

    [Fact]
    public void Rogue_nodes_get_nothing_and_change_nothing()
    {
        using var nodes = new Nodes();
        int port = Nodes.FreePort();
        // Long enough that the late worker below joins before the end, on a slow machine too (20000 steps once ended first).
        string[] training = ["train", "regression", "--steps", "50000", "--hidden", "8,8", "--json"];
        var server = nodes.ParameterServer(port, 1, training);
        server.WaitToSay("waiting for");

        // A connection that never says anything is closed by the node (connection-timeout).
        using var idle = new TcpClient("127.0.0.1", port);
        var otherCertificate = nodes.Worker(port, "--tls-cert", Nodes.NewCertificate("rogue"), "--join-timeout", "10");
        var noCertificate = nodes.Worker(port, "--insecure", "--join-timeout", "10");
        var honest = nodes.Worker(port);
        honest.WaitToSay("joined");

        // Holds the cluster's certificate, so it can connect, but is not a member: the recruiter and the
        // worker host believe members only, untrusted mode drops selections and PoisonPill, Kill is ignored.
        var got = new ConcurrentQueue<object>();
        int tried = 0;
        using (var rogue = ActorSystems.CreateCluster("127.0.0.1", 0, ActorSystems.WorkerRole, [], ClusterTls.Load(Nodes.Certificate, null)))
        {
            var listener = rogue.ActorOf(Props.Create(() => new Listener(got)), "listener");
            var provider = ((ExtendedActorSystem)rogue).Provider;
            var recruiter = provider.ResolveActorRef($"{Nodes.Seed(port)}/user/recruiter");
            var workerHost = $"{honest.Err.Split("worker ")[1].Split(' ')[0]}/user/{WorkerHost.Name}";
            void Attack(Action send) { send(); tried++; }
            Attack(() => recruiter.Tell(new WorkerReady("rogue"), listener));                                   // ask for shards
            Attack(() => recruiter.Tell(new JobFailed("rogue", new string('x', 100_000)), listener));          // flood the log
            Attack(() => rogue.ActorSelection($"{Nodes.Seed(port)}/user/recruiter").Tell(new WorkerReady("rogue"), listener));
            Attack(() => recruiter.Tell(PoisonPill.Instance, listener));
            Attack(() => recruiter.Tell(Kill.Instance, listener));
            Attack(() => rogue.ActorSelection(workerHost).Tell(new RunEnded(false, "forged"), listener)); // end the honest worker
            Attack(() => rogue.ActorSelection(workerHost).Tell(
                new JobDescription(new TrainingJob(TrainingJob.Regression, [20000, 20000], "tanh", 200, 0, null)), listener));
            Attack(() => rogue.ActorSelection($"{Nodes.Seed(port)}/user/worker-host").Tell(new WorkerReady("rogue"), listener));
            Thread.Sleep(3000); // what would have come back, has
        }
        // The recruiter survived the Kill: a worker that joins now is still taken in.
        var late = nodes.Worker(port);

        Assert.True(server.WaitForExit() == 0, server.Err);
        Assert.Equal(nodes.InProcessHash(training), server.LastJsonHash());
        Assert.Equal(2, server.LastJson().GetProperty("workers").GetInt32());
        Assert.Empty(got);
        Assert.Equal(8, tried);
        Assert.Equal(0, honest.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Equal(0, late.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.DoesNotContain("cannot run the job", server.Err);

        Assert.NotEqual(0, otherCertificate.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains("is not of this cluster: its certificate", otherCertificate.Err.TrimEnd().Split('\n')[^1]);
        Assert.NotEqual(0, noCertificate.WaitForExit(TimeSpan.FromSeconds(60)));
        Assert.Contains("this node runs --insecure", noCertificate.Err.TrimEnd().Split('\n')[^1]);
        Assert.Contains("is not this cluster's", server.Err);
        Assert.True(ClosedByPeer(idle, TimeSpan.FromSeconds(60)), "the idle connection was not closed");
    }

    /// <summary>Whether the other end closes the connection (or resets it) within <paramref name="limit"/>.</summary>
    private static bool ClosedByPeer(TcpClient client, TimeSpan limit)
    {
        client.ReceiveTimeout = (int)limit.TotalMilliseconds;
        try { return client.GetStream().Read(new byte[64]) == 0; }
        catch (IOException e) { return e.InnerException is not SocketException { SocketErrorCode: SocketError.TimedOut or SocketError.WouldBlock }; }
    }
}
