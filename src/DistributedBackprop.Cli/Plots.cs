using ScottPlot;

namespace DistributedBackprop.Cli;

/// <summary>The notebook's matplotlib figures, drawn with ScottPlot as PNG files that appear whole or not at all.</summary>
public static class Plots
{
    private const int Width = 640, Height = 480;

    /// <summary>The data as blue points and, given a grid, the fitted curve as a red line.</summary>
    public static void Regression(string path, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> gridX = default, ReadOnlySpan<float> gridY = default)
    {
        var plot = new Plot();
        var points = plot.Add.ScatterPoints(Doubles(x), Doubles(y));
        points.Color = Colors.SteelBlue;
        points.MarkerSize = 6;
        points.LegendText = "data";
        bool fitted = gridX.Length > 0;
        if (fitted)
        {
            var line = plot.Add.ScatterLine(Doubles(gridX), Doubles(gridY));
            line.Color = Colors.Red;
            line.LineWidth = 2;
            line.LegendText = "fit";
            plot.ShowLegend(Alignment.LowerLeft);
        }
        plot.Title(fitted ? "plot of f(x) and f̂(x)" : "plot of f(x)");
        plot.XLabel("x");
        plot.YLabel("y");
        Save(plot, path);
    }

    /// <summary>Training loss against step, on a log scale.</summary>
    public static void LossCurve(string path, ReadOnlySpan<long> steps, ReadOnlySpan<double> losses, string title = "training loss (MSE)")
    {
        var plot = new Plot();
        var xs = new double[steps.Length];
        var ys = new double[steps.Length];
        for (int i = 0; i < xs.Length; i++) { xs[i] = steps[i]; ys[i] = Math.Log10(Math.Max(losses[i], 1e-12)); }
        var line = plot.Add.ScatterLine(xs, ys);
        line.Color = Colors.SteelBlue;
        line.LineWidth = 2;
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            LabelFormatter = v => Math.Pow(10, v).ToString("G3", System.Globalization.CultureInfo.InvariantCulture),
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
        };
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel("loss (log scale)");
        Save(plot, path);
    }

    private static void Save(Plot plot, string path) =>
        Files.WriteAtomic(path, temp => File.WriteAllBytes(temp, plot.GetImageBytes(Width, Height, ImageFormat.Png)));

    private static double[] Doubles(ReadOnlySpan<float> values)
    {
        var d = new double[values.Length];
        for (int i = 0; i < d.Length; i++) d[i] = values[i];
        return d;
    }
}
