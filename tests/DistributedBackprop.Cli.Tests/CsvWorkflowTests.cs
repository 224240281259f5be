using System.Diagnostics;
using System.Text.Json;

namespace DistributedBackprop.Cli.Tests;

/// <summary>
/// The README's walk-through, as a user runs it: train on a CSV, plot, predict, evaluate, export, load the
/// export elsewhere; the same hash for the plain loop and worker actors; every bad input one line.
/// </summary>
[Collection("console")]
public class CsvWorkflowTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dbp-csv-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The repository's examples folder (the tests run from a build folder inside the clone).</summary>
    internal static string Examples
    {
        get
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "examples", "stones-train.csv"))) return Path.Combine(d.FullName, "examples");
            throw new InvalidOperationException("examples/stones-train.csv not found above " + AppContext.BaseDirectory);
        }
    }

    internal static string Train => Path.Combine(Examples, "stones-train.csv");
    internal static string Test => Path.Combine(Examples, "stones-test.csv");
    internal static string New => Path.Combine(Examples, "stones-new.csv");

    private string At(string name) => Path.Combine(_dir, name);

    internal static readonly string[] Stones =
        ["train", "csv", "--data", Train, "--target", "kind", "--test", Test, "--layers", "linear:32,relu,dropout:0.2,linear:32,gelu,linear",
         "--optimizer", "adam", "--lr", "0.003", "--epochs", "6", "--batch", "32", "--micro-shard", "8", "--json"];

    /// <summary>The arguments with these options' values replaced or added: an option may not be given twice.</summary>
    internal static string[] With(string[] args, params string[] options)
    {
        var list = args.ToList();
        for (int i = 0; i < options.Length; i += 2)
        {
            int at = list.IndexOf(options[i]);
            if (at >= 0) list[at + 1] = options[i + 1];
            else list.AddRange([options[i], options[i + 1]]);
        }
        return [.. list];
    }

    private static JsonElement Last(DbpRunner.Result r)
    {
        Assert.True(r.ExitCode == 0, r.Err);
        return JsonDocument.Parse(r.LastLine).RootElement;
    }

    [Fact]
    public void The_plain_loop_and_worker_actors_give_the_same_hash()
    {
        var plain = Last(DbpRunner.Run([.. Stones, "--workers", "0"]));
        var two = Last(DbpRunner.Run([.. Stones, "--workers", "2"]));
        var three = Last(DbpRunner.Run([.. Stones, "--workers", "3"]));
        Assert.Equal(plain.GetProperty("param_hash").GetString(), two.GetProperty("param_hash").GetString());
        Assert.Equal(plain.GetProperty("param_hash").GetString(), three.GetProperty("param_hash").GetString());
        Assert.Equal(2, two.GetProperty("workers").GetInt32());
        Assert.Equal(6, plain.GetProperty("epoch").GetInt32());
        Assert.True(plain.GetProperty("test_accuracy").GetDouble() > 0.8, plain.ToString());
        // Another dropout seed is another run.
        Assert.NotEqual(plain.GetProperty("param_hash").GetString(), Last(DbpRunner.Run(With(Stones, "--workers", "0", "--seed", "1"))).GetProperty("param_hash").GetString());
    }

    [Fact]
    public void The_optimizer_schedule_and_clipping_flags_keep_the_hash_for_any_engine()
    {
        string[] flags = ["--optimizer", "adamw", "--weight-decay", "0.05", "--lr-schedule", "warmup-cosine", "--warmup-steps", "20", "--clip-grad-norm", "0.5", "--loss", "cross-entropy"];
        var plain = Last(DbpRunner.Run([.. With(Stones, flags), "--workers", "0"]));
        Assert.Equal(plain.GetProperty("param_hash").GetString(), Last(DbpRunner.Run([.. With(Stones, flags), "--workers", "2"])).GetProperty("param_hash").GetString());
        Assert.NotEqual(plain.GetProperty("param_hash").GetString(), Last(DbpRunner.Run([.. Stones, "--workers", "0"])).GetProperty("param_hash").GetString());
        foreach (var other in new[] { new[] { "--optimizer", "rmsprop", "--lr", "0.001" }, ["--optimizer", "nesterov", "--lr-schedule", "step", "--lr-step-size", "50"], ["--loss", "bce-with-logits"] })
            Assert.True(DbpRunner.Run(With(Stones, [.. other, "--epochs", "1"])).ExitCode == 0, string.Join(' ', other));
    }

    [Fact]
    public void Predict_eval_and_export_need_only_the_checkpoint()
    {
        var run = Last(DbpRunner.Run([.. Stones, "--checkpoint", At("run"), "--plot", At("curves.png"), "--metrics", At("metrics.csv")]));
        Assert.Equal([0x89, 0x50, 0x4E, 0x47], File.ReadAllBytes(At("curves.png"))[..4]);
        var metrics = File.ReadAllLines(At("metrics.csv"));
        Assert.Equal("step,epoch,loss,test_loss,test_accuracy,train_accuracy", metrics[0]);
        Assert.Equal(6 * 38 + 1, metrics.Length); // 1,200 rows in batches of 32: 38 steps an epoch
        Assert.Equal(6, metrics.Count(l => !l.EndsWith(",,")) - 1);
        Assert.Equal(run.GetProperty("test_accuracy").GetDouble(), double.Parse(metrics[^1].Split(',')[^2], System.Globalization.CultureInfo.InvariantCulture), 4);
        Assert.InRange(double.Parse(metrics[^1].Split(',')[^1], System.Globalization.CultureInfo.InvariantCulture), 0.8, 1.0); // the training rows' accuracy

        var predicted = DbpRunner.Run("predict", "--model", At("run"), "--data", New, "--out", At("predictions.csv"));
        Assert.True(predicted.ExitCode == 0, predicted.Err);
        var rows = File.ReadAllLines(At("predictions.csv"));
        Assert.Equal("kind,p_amber,p_jade,p_onyx", rows[0]);
        Assert.Equal(21, rows.Length);
        Assert.All(rows[1..], r =>
        {
            var cells = r.Split(',');
            Assert.Contains(cells[0], new[] { "amber", "jade", "onyx" });
            Assert.Equal(1, cells[1..].Sum(c => double.Parse(c, System.Globalization.CultureInfo.InvariantCulture)), 5);
        });

        var eval = Last(DbpRunner.Run("eval", "--model", Path.Combine(At("run"), "checkpoint.dbp"), "--data", Test, "--json"));
        Assert.Equal(300, eval.GetProperty("rows").GetInt32());
        Assert.Equal(run.GetProperty("test_accuracy").GetDouble(), eval.GetProperty("accuracy").GetDouble(), 4);
        var confusion = eval.GetProperty("confusion").EnumerateArray().Select(r => r.EnumerateArray().Select(c => c.GetInt32()).ToArray()).ToArray();
        Assert.Equal(300, confusion.Sum(r => r.Sum()));
        Assert.Equal(eval.GetProperty("accuracy").GetDouble(), (double)Enumerable.Range(0, 3).Sum(i => confusion[i][i]) / 300, 6);
        var table = DbpRunner.Run("eval", "--model", At("run"), "--data", Test);
        Assert.Contains("confusion (rows: true class, columns: predicted)", table.Out);

        foreach (var (format, file) in new[] { ("safetensors", "model.safetensors"), ("onnx", "model.onnx") })
        {
            var r = DbpRunner.Run("export", "--model", At("run"), "--format", format, "--out", At(file));
            Assert.True(r.ExitCode == 0, r.Err);
            Assert.True(new FileInfo(At(file)).Length > 4 * 1379); // 1,379 weights as float32, and the header
        }
        Assert.Equal(0, DbpRunner.Run("export", "--model", At("run"), "--out", At("by-name.onnx")).ExitCode); // the format from the name
    }

    [Fact]
    public void Regression_csv_is_scored_by_mse_mae_and_r2()
    {
        var csv = At("line.csv");
        File.WriteAllLines(csv, ["a,b,y", .. Enumerable.Range(0, 200).Select(i => $"{i % 17},{i % 5},{2 * (i % 17) - 3 * (i % 5) + 1}")]);
        var run = Last(DbpRunner.Run("train", "csv", "--data", csv, "--target", "y", "--validation", "0.2", "--epochs", "40", "--optimizer", "adam", "--lr", "0.01", "--hidden", "16", "--checkpoint", At("r"), "--json"));
        Assert.True(run.GetProperty("validation_loss").GetDouble() < 1, run.ToString());
        var eval = Last(DbpRunner.Run("eval", "--model", At("r"), "--data", csv, "--json"));
        Assert.True(eval.GetProperty("r2").GetDouble() > 0.95, eval.ToString());
        Assert.Equal(0, DbpRunner.Run("predict", "--model", At("r"), "--data", csv, "--out", At("p.csv")).ExitCode);
        Assert.Equal("y", File.ReadAllLines(At("p.csv"))[0]);
    }

    [Fact]
    public void Init_starts_from_exported_weights()
    {
        Last(DbpRunner.Run([.. Stones, "--checkpoint", At("a")]));
        Assert.Equal(0, DbpRunner.Run("export", "--model", At("a"), "--out", At("a.safetensors")).ExitCode);
        var accuracy = Last(DbpRunner.Run("eval", "--model", At("a"), "--data", Test, "--json")).GetProperty("accuracy").GetDouble();
        // A learning rate too small to move the weights: the model is the exported one.
        string[] still = With(Stones, "--optimizer", "sgd", "--lr", "1e-12", "--epochs", "1");
        var started = Last(DbpRunner.Run([.. still, "--init", At("a.safetensors"), "--checkpoint", At("b")]));
        Assert.Equal(accuracy, started.GetProperty("test_accuracy").GetDouble(), 4);
        Assert.True(Last(DbpRunner.Run(still)).GetProperty("test_accuracy").GetDouble() < 0.8);
        DbpRunner.AssertBadInput(DbpRunner.Run(With(Stones, "--layers", "linear:8,relu,linear", "--init", At("a.safetensors"))), "tensor '0.weight' has shape [32, 6]; the model's is [8, 6]");
    }

    [Fact]
    public void Fashion_mnist_and_the_regression_plot_and_log_their_curves()
    {
        var folder = Directory.CreateDirectory(At("fashion")).FullName;
        var rng = new Random(3);
        foreach (var (prefix, n) in new[] { ("train", 96), ("t10k", 32) })
        {
            var images = new byte[16 + n * 784];
            images[2] = 8; images[3] = 3;
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(4), n);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(8), 28);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(12), 28);
            rng.NextBytes(images.AsSpan(16));
            var labels = new byte[8 + n];
            labels[2] = 8; labels[3] = 1;
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(labels.AsSpan(4), n);
            for (int i = 0; i < n; i++) labels[8 + i] = (byte)(i % 10);
            File.WriteAllBytes(Path.Combine(folder, $"{prefix}-images-idx3-ubyte"), images);
            File.WriteAllBytes(Path.Combine(folder, $"{prefix}-labels-idx1-ubyte"), labels);
        }
        var fashion = DbpRunner.Run("train", "fashion-mnist", "--data", folder, "--epochs", "2", "--batch", "32", "--hidden", "8", "--json",
            "--plot", At("f.png"), "--metrics", At("f.jsonl"), "--checkpoint", At("f"));
        var last = Last(fashion);
        Assert.True(last.TryGetProperty("test_loss", out _) && last.TryGetProperty("test_accuracy", out _), fashion.Out);
        var lines = File.ReadAllLines(At("f.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(6, lines.Length);
        Assert.Equal(2, lines.Count(l => l.TryGetProperty("test_accuracy", out _)));
        Assert.True(File.ReadAllBytes(At("f.png")).Length > 1000);
        Assert.Equal(0, DbpRunner.Run("export", "--model", At("f"), "--out", At("f.onnx")).ExitCode);

        var regression = DbpRunner.Run("train", "regression", "--steps", "30", "--plot", At("r.png"), "--metrics", At("r.csv"), "--layers", "linear:8,tanh,dropout:0.1,linear");
        Assert.True(regression.ExitCode == 0, regression.Err);
        Assert.Equal(31, File.ReadAllLines(At("r.csv")).Length);
        Assert.Equal("step,epoch,loss", File.ReadAllLines(At("r.csv"))[0]);
    }

    [Fact]
    public void A_checkpoint_resumes_only_on_the_data_it_was_trained_on()
    {
        string[] run = With(Stones, "--epochs", "2", "--checkpoint", At("c"));
        Last(DbpRunner.Run(run));
        var longer = Last(DbpRunner.Run(With(run, "--epochs", "3", "--resume", "true")));
        Assert.Equal(3, longer.GetProperty("epoch").GetInt32());
        Assert.Equal(Last(DbpRunner.Run(With(Stones, "--epochs", "3"))).GetProperty("param_hash").GetString(), longer.GetProperty("param_hash").GetString());
        var other = At("other.csv");
        File.WriteAllLines(other, [.. File.ReadAllLines(Train).Take(901), .. File.ReadAllLines(Test).Skip(1)]); // the same columns and count, other rows
        DbpRunner.AssertBadInput(DbpRunner.Run(With(run, "--data", other, "--epochs", "3", "--resume", "true")), "written by a run with other settings");
    }

    [TorchFact]
    public void Pytorch_loads_the_safetensors_export_and_predicts_the_same()
    {
        if (!Torch.Available) return; // TorchFact skips it; this guard keeps a direct run honest
        Last(DbpRunner.Run([.. Stones, "--checkpoint", At("t")]));
        Assert.Equal(0, DbpRunner.Run("export", "--model", At("t"), "--out", At("t.safetensors")).ExitCode);
        Assert.Equal(0, DbpRunner.Run("predict", "--model", At("t"), "--data", Test, "--out", At("ours.csv")).ExitCode);
        Torch.Run("torch_predict.py", At("t.safetensors"), Test, At("torch.csv"));
        var compared = Torch.Run("compare_predictions.py", At("ours.csv"), At("torch.csv"), "1e-5");
        Assert.StartsWith("300 rows, largest difference", compared);
    }

    [Theory]
    [InlineData("no column 'species'", "--target", "species")]
    [InlineData("--test and --validation both give the held-out rows", "--validation", "0.1")]
    [InlineData("--loss: Argument 'mae' not recognized. Must be one of: 'mse', 'l1'", "--loss", "mae")]
    [InlineData("the loss mse is for regression; a classification takes cross-entropy or bce-with-logits", "--loss", "mse")]
    [InlineData("--layers: 'conv:3' is not a layer", "--layers", "linear:8,conv:3")]
    [InlineData("--layers gives the layers, so --hidden does not apply", "--layers", "linear", "--hidden", "8")]
    [InlineData("--lr-schedule step needs --lr-step-size N", "--lr-schedule", "step")]
    [InlineData("--warmup-steps goes with --lr-schedule warmup-cosine", "--warmup-steps", "3")]
    [InlineData("--metrics m.txt: the file must end in .csv or .jsonl", "--metrics", "m.txt")]
    [InlineData("p.jpg: cannot write '.jpg' files here; use .png", "--plot", "p.jpg")]
    [InlineData("--task: Argument 'clustering' not recognized", "--task", "clustering")]
    [InlineData("--betas: '0.9' is not two numbers", "--optimizer", "adam", "--betas", "0.9")]
    [InlineData("--clip-grad-norm must be 0 or more", "--clip-grad-norm", "-1")]
    public void Bad_training_flags_are_one_line_and_exit_2(string expected, params string[] args) =>
        DbpRunner.AssertBadInput(DbpRunner.Run(With(["train", "csv", "--data", Train, "--target", "kind", "--test", Test, "--epochs", "1"], args)), expected);

    [Fact]
    public void Bad_data_is_one_line_naming_the_file_row_and_column()
    {
        var bad = At("bad.csv");
        File.WriteAllLines(bad, ["a,b,kind", "1,2,x", "3,oops,y"]);
        DbpRunner.AssertBadInput(DbpRunner.Run("train", "csv", "--data", bad, "--target", "kind"), $"{bad}: row 2 (line 3), column 'b': 'oops' is not a number");
        DbpRunner.AssertBadInput(DbpRunner.Run("train", "csv", "--data", At("none.csv"), "--target", "kind"), "none.csv: not found");
        File.WriteAllText(At("data.txt"), "a,kind\n1,x\n2,y\n");
        DbpRunner.AssertBadInput(DbpRunner.Run("train", "csv", "--data", At("data.txt"), "--target", "kind"), "the data file must end in .csv");
    }

    [Fact]
    public void Predict_eval_and_export_refuse_bad_input_with_one_line()
    {
        Last(DbpRunner.Run(With(Stones, "--epochs", "1", "--checkpoint", At("m"))));
        var partial = At("partial.csv");
        File.WriteAllLines(partial, ["width,depth", "1,2"]);
        DbpRunner.AssertBadInput(DbpRunner.Run("predict", "--model", At("m"), "--data", partial, "--out", At("p.csv")), "no column 'weight', which the model reads");
        DbpRunner.AssertBadInput(DbpRunner.Run("predict", "--model", At("m"), "--data", New, "--out", At("p.txt")), "the name must end in .csv");
        DbpRunner.AssertBadInput(DbpRunner.Run("predict", "--model", At("nothing"), "--data", New, "--out", At("p.csv")), "not found");
        DbpRunner.AssertBadInput(DbpRunner.Run("eval", "--model", At("m"), "--data", New), "no column 'kind'");
        DbpRunner.AssertBadInput(DbpRunner.Run("export", "--model", At("m"), "--out", At("m.bin")), "say --format safetensors or onnx");
        DbpRunner.AssertBadInput(DbpRunner.Run("export", "--model", At("m"), "--format", "tflite", "--out", At("m.bin")), "--format: Argument 'tflite' not recognized");
        File.WriteAllBytes(At("junk.dbp"), [1, 2, 3]);
        DbpRunner.AssertBadInput(DbpRunner.Run("export", "--model", At("junk.dbp"), "--out", At("m.onnx")), "junk.dbp");
        Assert.False(File.Exists(At("p.csv")));
    }
}

/// <summary>Debian's PyTorch (python3-torch) where it is installed: the PyTorch test skips, saying so, where it is not.</summary>
public static class Torch
{
    public static readonly bool Available = Probe();

    private static bool Probe()
    {
        try { return Run0("-c", "import torch") == 0; }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    private static int Run0(params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo("/usr/bin/python3", args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        p.WaitForExit(60_000);
        return p.HasExited ? p.ExitCode : -1;
    }

    /// <summary>Runs one of the repository's scripts/ with /usr/bin/python3; fails the test on a non-zero exit.</summary>
    public static string Run(string script, params string[] args)
    {
        var scripts = Path.Combine(Path.GetDirectoryName(CsvWorkflowTests.Examples)!, "scripts");
        var info = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, RedirectStandardOutput = true };
        info.ArgumentList.Add(Path.Combine(scripts, script));
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(); Assert.Fail($"{script} did not finish in 2 minutes"); }
        Assert.True(p.ExitCode == 0, $"{script}: {error.Result}{output.Result}");
        return output.Result;
    }
}

/// <summary>A fact that is skipped, with the reason in the test output, where PyTorch is not installed.</summary>
public sealed class TorchFactAttribute : FactAttribute
{
    public TorchFactAttribute()
    {
        if (!Torch.Available) Skip = "PyTorch is not installed here (apt-get install python3-torch): the export is not checked against it";
    }
}
