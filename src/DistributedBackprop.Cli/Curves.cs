using System.Globalization;
using System.Text;
using System.Text.Json;
using DistributedBackprop.Nn;
using ScottPlot;

namespace DistributedBackprop.Cli;

/// <summary>
/// A run's learning curves: the loss of every step, and at the end of each epoch the mean training loss, the
/// held-out split's loss and accuracy and the training split's accuracy (evaluation mode, as the held-out
/// split's). Written as a metrics file (a row per step: <c>--metrics</c>) and drawn (<c>--plot</c>).
/// </summary>
public sealed class Curves(string heldName = "validation")
{
    public sealed record Step(long Number, int Epoch, double Loss);
    /// <summary>The end of <paramref name="Epoch"/> (from 1), whose last step was <paramref name="LastStep"/>; held-out values where there is a held-out split, accuracies for classes.</summary>
    public sealed record Held(long LastStep, int Epoch, double TrainLoss, double? Loss, double? Accuracy, double? TrainAccuracy);

    public List<Step> Steps { get; } = [];
    public List<Held> Epochs { get; } = [];
    public string HeldName => heldName;

    /// <summary>The path of --metrics, checked before any work: a .csv or .jsonl file.</summary>
    public static string? CheckMetrics(string? path) =>
        path is null || path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)
            ? path : throw new UsageException($"--metrics {path}: the file must end in .csv or .jsonl");

    /// <summary>The path of --plot, checked before any work.</summary>
    public static string? CheckPlot(string? path)
    {
        if (path is not null) Nn.AtomicFile.CheckTarget(path, ".png"); // before any work: a device, a pipe or another picture kind is refused
        return path;
    }

    /// <summary>
    /// One row per step: step, epoch (from 1), loss (the minibatch's mean, before the update), and on the
    /// last step of an epoch the held-out loss and accuracy and the training accuracy (empty, or absent in
    /// JSON lines, elsewhere).
    /// </summary>
    public void WriteMetrics(string path)
    {
        var held = Epochs.ToDictionary(e => e.LastStep);
        bool jsonl = path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase);
        bool heldLoss = Epochs.Any(e => e.Loss is not null), accuracy = Epochs.Any(e => e.Accuracy is not null), trainAccuracy = Epochs.Any(e => e.TrainAccuracy is not null);
        var text = new StringBuilder();
        string loss = heldName + "_loss", acc = heldName + "_accuracy";
        if (!jsonl) text.Append("step,epoch,loss").Append(heldLoss ? $",{loss}" : "").Append(accuracy ? $",{acc}" : "").Append(trainAccuracy ? ",train_accuracy" : "").Append('\n');
        foreach (var s in Steps)
        {
            var h = held.GetValueOrDefault(s.Number);
            if (jsonl)
            {
                var row = new Dictionary<string, object> { ["step"] = s.Number, ["epoch"] = s.Epoch + 1, ["loss"] = Finite(s.Loss) };
                if (h?.Loss is double l) row[loss] = Finite(l);
                if (h?.Accuracy is double a) row[acc] = a;
                if (h?.TrainAccuracy is double t) row["train_accuracy"] = t;
                text.Append(JsonSerializer.Serialize(row)).Append('\n');
            }
            else
            {
                text.Append(CultureInfo.InvariantCulture, $"{s.Number},{s.Epoch + 1},{s.Loss:R}");
                if (heldLoss) text.Append(',').Append(h?.Loss?.ToString("R", CultureInfo.InvariantCulture) ?? "");
                if (accuracy) text.Append(',').Append(h?.Accuracy?.ToString("R", CultureInfo.InvariantCulture) ?? "");
                if (trainAccuracy) text.Append(',').Append(h?.TrainAccuracy?.ToString("R", CultureInfo.InvariantCulture) ?? "");
                text.Append('\n');
            }
        }
        AtomicFile.WriteAllText(path, text.ToString());
    }

    private static object Finite(double v) => double.IsFinite(v) ? v : null!;

    /// <summary>Loss against step: every step's, the epochs' means and the held-out loss; accuracy beside it where there is one.</summary>
    public void Plot(string path, Plot? first = null)
    {
        var plots = new List<Plot>();
        if (first is not null) plots.Add(first);
        plots.Add(LossPlot());
        if (Epochs.Any(e => e.Accuracy is not null || e.TrainAccuracy is not null)) plots.Add(AccuracyPlot());
        Plots.SaveSideBySide(path, plots);
    }

    private Plot LossPlot()
    {
        var plot = Plots.NewFigure("loss", "step", "loss");
        var steps = plot.Add.ScatterLine(Steps.Select(s => (double)s.Number).ToArray(), Steps.Select(s => s.Loss).ToArray(), Plots.Blue);
        steps.LineWidth = 1;
        steps.LegendText = "train (each step)";
        if (Epochs.Count > 0)
        {
            var xs = Epochs.Select(e => (double)e.LastStep).ToArray();
            var train = plot.Add.Scatter(xs, Epochs.Select(e => e.TrainLoss).ToArray(), Plots.Navy);
            train.LineWidth = 2;
            train.MarkerSize = 7;
            train.LegendText = "train (epoch mean)";
            var withHeld = Epochs.Where(e => e.Loss is not null).ToArray();
            if (withHeld.Length > 0)
            {
                var held = plot.Add.Scatter(withHeld.Select(e => (double)e.LastStep).ToArray(), withHeld.Select(e => e.Loss!.Value).ToArray(), Plots.Orange);
                held.LineWidth = 2;
                held.MarkerSize = 7;
                held.LegendText = heldName;
            }
            Plots.Legend(plot);
        }
        return plot;
    }

    private Plot AccuracyPlot()
    {
        var plot = Plots.NewFigure("accuracy", "epoch", "accuracy");
        foreach (var (name, color, of) in new (string, ScottPlot.Color, Func<Held, double?>)[] { ("train", Plots.Navy, e => e.TrainAccuracy), (heldName, Plots.Orange, e => e.Accuracy) })
        {
            var epochs = Epochs.Where(e => of(e) is not null).ToArray();
            if (epochs.Length == 0) continue;
            var line = plot.Add.Scatter(epochs.Select(e => (double)e.Epoch).ToArray(), epochs.Select(e => of(e)!.Value).ToArray(), color);
            line.LineWidth = 2;
            line.MarkerSize = 7;
            line.LegendText = name;
        }
        Plots.Legend(plot);
        return plot;
    }
}
