using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DistributedBackprop.Core;
using DistributedBackprop.Data;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;

namespace DistributedBackprop.Cli;

/// <summary>The notebook's regression as one job: train, print the `iter, loss` table, and draw the pictures.</summary>
public static class RegressionJob
{
    public sealed record Result(TrainingState Final, double FinalLoss, double Seconds, List<StepLog> History);

    public static Result Run(TrainingSettings settings, ITrainingEngine engine, TrainingState start, long logEvery, bool json, TextWriter output)
    {
        engine.AwaitWorkers();
        if (!json) output.WriteLine("iter,\tloss");
        var history = new List<StepLog>();
        var clock = Stopwatch.StartNew();
        var final = engine.Run(start, settings.Steps, log =>
        {
            if (log.Replay is { } replay)
            {
                history.RemoveAll(h => h.Step >= replay.FromStep); // undone: replayed from here
                ReplayReport.Print(replay, json, output);
            }
            history.Add(log);
            if (!json && log.Step % logEvery == 0) output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{log.Step},\t{log.Loss:F2}"));
        });
        if (history.Count == 0) throw new UsageException($"the checkpoint is already at step {start.Step}: nothing to do for --steps {settings.Steps}");
        var result = new Result(final, history[^1].Loss, clock.Elapsed.TotalSeconds, history);
        long steps = history.Count;
        var hash = final.Parameters.Hash();
        if (json)
        {
            var line = new Dictionary<string, object>
            {
                ["final_loss"] = Math.Round(result.FinalLoss, 6), ["steps"] = settings.Steps, ["seconds"] = Math.Round(result.Seconds, 4),
                ["us_per_step"] = Math.Round(result.Seconds / steps * 1e6, 2), ["param_hash"] = hash,
            };
            line["workers"] = engine.Workers;
            output.WriteLine(JsonSerializer.Serialize(line));
        }
        else
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"final loss {result.FinalLoss:F4} after {settings.Steps} steps in {result.Seconds:F2} s ({result.Seconds / steps * 1e6:F1} µs a step)"));
            output.WriteLine($"param_hash {hash}");
        }
        return result;
    }

    /// <summary>The data and the fitted curve on a 50-point grid over [0, 1], as the notebook plots them.</summary>
    public static void PlotFit(string path, TrainingSettings settings, Dataset data, Parameters<float> parameters)
    {
        var (grid, fit) = Fit(settings, parameters);
        Plots.Regression(path, data.Inputs.Data, data.Targets.Data, grid, fit);
    }

    /// <summary>The figure of <see cref="PlotFit"/>, to be set beside the loss curve.</summary>
    public static ScottPlot.Plot FitPlot(TrainingSettings settings, Dataset data, Parameters<float> parameters)
    {
        var (grid, fit) = Fit(settings, parameters);
        return Plots.RegressionPlot(data.Inputs.Data, data.Targets.Data, grid, fit);
    }

    private static (float[] Grid, float[] Fit) Fit(TrainingSettings settings, Parameters<float> parameters)
    {
        const int points = 50;
        var grid = Enumerable.Range(0, points).Select(i => i / (float)(points - 1)).ToArray();
        var bindings = parameters.ToBindings();
        bindings[settings.Objective.X.Name] = Tensor<float>.FromArray(grid, points, 1);
        return (grid, Backprop.Evaluate(settings.Objective.Evaluation, bindings).Data.ToArray());
    }

    public static void PlotLoss(string path, List<StepLog> history) =>
        Plots.LossCurve(path, history.Select(h => h.Step).ToArray(), history.Select(h => h.Loss).ToArray());
}
