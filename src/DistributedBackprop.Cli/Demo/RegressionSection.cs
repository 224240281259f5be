using DistributedBackprop.Data;
using DistributedBackprop.Nn;

namespace DistributedBackprop.Cli.Demo;

public static partial class NetworkSections
{
    /// <summary>The notebook's training from scratch: 200 points, 32-32 tanh, SGD lr 0.05, 6000 steps, loss every 600.</summary>
    public static void Regression(DemoContext c)
    {
        c.Heading("regression: y = 4 sin(πx) cos(6πx²), a 1-32-32-1 tanh network, full-batch SGD (lr 0.05) on MSE");
        var spec = new Training.TrainingJob(Training.TrainingJob.Regression, [32, 32], "tanh", 200, c.Seed, null);
        var data = spec.Data().Train;
        var settings = new Training.TrainingSettings(spec.Objective(), new Sgd(0.05), new Batches(200, 200, Shuffle: false, c.Seed), 6000, 200, c.Seed);
        c.Wrote("regression-data.png", path => Plots.Regression(path, data.Inputs.Data, data.Targets.Data));
        c.Out.WriteLine(settings.Objective.Model);
        var result = RegressionJob.Run(settings, new Training.Trainer(settings, data), Training.TrainingState.Start(settings), 600, json: false, c.Out);
        c.Wrote("regression-fit.png", path => RegressionJob.PlotFit(path, settings, data, result.Final.Parameters));
        c.Wrote("regression-loss.png", path => RegressionJob.PlotLoss(path, result.History));
    }
}
