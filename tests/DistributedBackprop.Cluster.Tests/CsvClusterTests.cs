namespace DistributedBackprop.Cluster.Tests;

/// <summary>The csv task on a cluster: every worker node reads the file by the path in the job, and the result is the in-process one.</summary>
public class CsvClusterTests
{
    private static string Examples()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "examples", "stones-train.csv"))) return Path.Combine(d.FullName, "examples");
        throw new InvalidOperationException("examples/stones-train.csv not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void Worker_nodes_load_the_csv_by_path_and_train_to_the_in_process_hash()
    {
        var examples = Examples();
        string[] training = ["train", "csv", "--data", Path.Combine(examples, "stones-train.csv"), "--target", "kind", "--validation", "0.1",
            "--layers", "linear:16,relu,dropout:0.25,linear", "--epochs", "3", "--batch", "64", "--micro-shard", "16", "--json"];
        using var nodes = new Nodes();
        int port = Nodes.FreePort();
        var server = nodes.ParameterServer(port, 2, training);
        var workers = new[] { nodes.Worker(port), nodes.Worker(port) };
        Assert.True(server.WaitForExit() == 0, server.Err);
        foreach (var w in workers) Assert.True(w.WaitForExit(TimeSpan.FromSeconds(60)) == 0, w.Err);
        Assert.Equal(2, server.LastJson().GetProperty("workers").GetInt32());
        Assert.True(server.LastJson().TryGetProperty("validation_accuracy", out _), server.Out);
        var single = nodes.InProcess([.. training, "--workers", "2"]);
        Assert.True(single.WaitForExit() == 0, single.Err);
        Assert.Equal(single.LastJsonHash(), server.LastJsonHash());
        var plain = nodes.InProcess([.. training, "--workers", "0"]);
        Assert.True(plain.WaitForExit() == 0, plain.Err);
        Assert.Equal(plain.LastJsonHash(), server.LastJsonHash());
    }
}
