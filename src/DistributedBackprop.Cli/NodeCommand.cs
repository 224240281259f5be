using System.CommandLine;
using Akka.Actor;
using DistributedBackprop.Actors;

namespace DistributedBackprop.Cli;

/// <summary>
/// <c>dbp node</c>: one node of a cluster. The parameter-server node runs the coordinator and the server and
/// prints what <c>dbp train</c> prints; worker nodes join it, compute shards, and exit when it leaves.
/// Flags override the DBP_ROLE, DBP_HOSTNAME, DBP_PORT and DBP_SEED_NODES environment variables, which
/// override hocon/cluster.hocon.
/// </summary>
public static class NodeCommand
{
    public static Command Create()
    {
        var role = new Option<string?>("--role") { Description = "parameter-server or worker (or DBP_ROLE)" };
        var hostname = new Option<string?>("--hostname") { Description = "address to bind and be reached at (or DBP_HOSTNAME; default 127.0.0.1)" };
        var port = new Option<int?>("--port") { Description = "port to bind (or DBP_PORT; default 4053 for the parameter server, 0 = any free port for a worker)" };
        var seeds = new Option<string?>("--seed-nodes") { Description = "comma-separated seed addresses, e.g. akka.tcp://dbp@127.0.0.1:4053 (or DBP_SEED_NODES)" };
        var minWorkers = new Option<int>("--min-workers") { Description = "worker nodes to wait for before training", DefaultValueFactory = _ => 1 };
        var joinTimeout = new Option<double>("--join-timeout") { Description = "seconds to wait to join the cluster, or for --min-workers", DefaultValueFactory = _ => 60 };
        var training = new Argument<string[]>("TRAINING") { Description = "for the parameter server, after --: train regression|fashion-mnist|csv [training flags]", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("node", "One node of a training cluster (Akka.Cluster): the parameter server, or a worker")
        {
            role, hostname, port, seeds, minWorkers, joinTimeout, training,
        };
        command.SetAction(r =>
        {
            var roleName = r.GetValue(role) ?? Environment.GetEnvironmentVariable("DBP_ROLE");
            var host = r.GetValue(hostname) ?? Environment.GetEnvironmentVariable("DBP_HOSTNAME") ?? "127.0.0.1";
            var seedList = (r.GetValue(seeds) ?? Environment.GetEnvironmentVariable("DBP_SEED_NODES") ?? "")
                .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var seed in seedList) CheckSeed(seed);
            var timeout = TimeSpan.FromSeconds(r.GetValue(joinTimeout));
            if (timeout <= TimeSpan.Zero) throw new UsageException("--join-timeout must be positive");
            return roleName switch
            {
                ActorSystems.ParameterServerRole => ParameterServer(host, Port(r.GetValue(port), 4053), r.GetValue(minWorkers), timeout, r.GetValue(training) ?? []),
                ActorSystems.WorkerRole => Worker(host, Port(r.GetValue(port), 0), seedList, timeout),
                null => throw new UsageException("--role is required: parameter-server or worker"),
                _ => throw new UsageException($"--role: unknown '{roleName}' (parameter-server or worker)"),
            };
        });
        return command;
    }

    private static int Port(int? flag, int fallback)
    {
        var env = Environment.GetEnvironmentVariable("DBP_PORT");
        int port = flag ?? (env is null ? fallback : int.TryParse(env, out var p) ? p : throw new UsageException($"DBP_PORT: '{env}' is not a port"));
        return port is >= 0 and <= 65535 ? port : throw new UsageException($"--port {port} is not a port");
    }

    private static void CheckSeed(string seed)
    {
        Address address;
        try { address = Address.Parse(seed); }
        catch (Exception e) when (e is UriFormatException or ArgumentException) { throw new UsageException($"--seed-nodes: '{seed}' is not an address like akka.tcp://dbp@127.0.0.1:4053"); }
        if (address.System != ActorSystems.SystemName)
            throw new UsageException($"--seed-nodes: '{seed}' names cluster '{address.System}'; dbp's cluster is '{ActorSystems.SystemName}'");
        if (address.Host is null || address.Port is null) throw new UsageException($"--seed-nodes: '{seed}' needs a host and a port");
    }

    private static ActorSystem Start(string host, int port, string role, IEnumerable<string> seeds)
    {
        try { return ActorSystem.Create(ActorSystems.SystemName, ActorSystems.Cluster(host, port, role, seeds)); }
        catch (Exception e) when (e is not UsageException)
        {
            throw new IOException($"cannot start a node on {host}:{port}: {e.GetBaseException().Message}");
        }
    }

    private static int ParameterServer(string host, int port, int minWorkers, TimeSpan joinTimeout, string[] training)
    {
        if (minWorkers <= 0) throw new UsageException("--min-workers must be positive");
        if (training.Length == 0) throw new UsageException("the parameter server needs its job after --: train regression|fashion-mnist|csv [flags]");
        var request = TrainCommand.Parse(training);
        var system = Start(host, port, ActorSystems.ParameterServerRole, []);
        var cluster = Akka.Cluster.Cluster.Get(system);
        cluster.Join(cluster.SelfAddress); // the first node seeds itself; it stays the oldest, which keep-oldest protects
        Console.Error.WriteLine($"dbp: parameter server at {cluster.SelfAddress}, waiting for {minWorkers} worker node(s)");
        try
        {
            return request.Run(Console.Out, new EngineChoice.Cluster(system, request.Job, minWorkers, joinTimeout));
        }
        finally
        {
            Leave(system);
        }
    }

    private static int Worker(string host, int port, string[] seeds, TimeSpan joinTimeout)
    {
        if (seeds.Length == 0) throw new UsageException("a worker needs --seed-nodes (or DBP_SEED_NODES), e.g. akka.tcp://dbp@127.0.0.1:4053");
        // Seeds are joined only once the worker host exists: the server sends the job as soon as this node is up.
        var system = Start(host, port, ActorSystems.WorkerRole, []);
        var cluster = Akka.Cluster.Cluster.Get(system);
        var joined = new TaskCompletionSource();
        cluster.RegisterOnMemberUp(() => joined.TrySetResult());
        var failed = new TaskCompletionSource<string>();
        system.ActorOf(WorkerHost.Props(failed), WorkerHost.Name);
        cluster.JoinSeedNodes(seeds.Select(Address.Parse));
        if (!joined.Task.Wait(joinTimeout))
        {
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
            throw new IOException($"could not join the cluster through {string.Join(", ", seeds)} within {joinTimeout.TotalSeconds:0} s: is a parameter server running there?");
        }
        Console.Error.WriteLine($"dbp: worker {cluster.SelfAddress} joined");
        var serverGone = new TaskCompletionSource<string>();
        system.ActorOf(ServerWatch.Props(serverGone));
        Task.WaitAny(serverGone.Task, failed.Task, system.WhenTerminated);
        Leave(system);
        // A job that failed here fails the node, even if the server has left meanwhile.
        if (failed.Task.IsCompleted) throw new IOException($"this worker cannot run the job: {failed.Task.Result}");
        if (!serverGone.Task.IsCompleted) throw new IOException("this node was removed from the cluster (the parameter server was lost)");
        return 0;
    }

    /// <summary>Leaves the cluster and stops, each within a bounded wait.</summary>
    private static void Leave(ActorSystem system)
    {
        if (system.WhenTerminated.IsCompleted) return;
        var cluster = Akka.Cluster.Cluster.Get(system);
        var removed = new TaskCompletionSource();
        cluster.RegisterOnMemberRemoved(() => removed.TrySetResult());
        cluster.Leave(cluster.SelfAddress);
        removed.Task.Wait(TimeSpan.FromSeconds(10));
        system.Terminate().Wait(TimeSpan.FromSeconds(10));
    }
}
