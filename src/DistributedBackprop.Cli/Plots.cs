using DistributedBackprop.Nn;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace DistributedBackprop.Cli;

/// <summary>
/// PNG figures in the notebook's matplotlib look: blue data dots, a red fitted line, title and axis labels.
/// Each PNG appears whole or not at all.
/// </summary>
public static partial class Plots
{
    public const int Width = 640, Height = 480;
    private static readonly Color DataBlue = Color.FromHex("#1f77b4"); // matplotlib's first colour
    private static readonly Color FitRed = Colors.Red;                // matplotlib's 'r'

    // ScottPlot's own choice here is the first font file found (DejaVu Serif); matplotlib draws in DejaVu Sans.
    private static readonly string? SansFont =
        new[] { "DejaVu Sans", "Liberation Sans" }.FirstOrDefault(SkiaSharp.SKFontManager.Default.FontFamilies.Contains);

    /// <summary>The data as blue dots; with a grid, the fitted curve over it as a red line.</summary>
    public static void Regression(string path, ReadOnlySpan<float> x, ReadOnlySpan<float> y,
        ReadOnlySpan<float> gridX = default, ReadOnlySpan<float> gridY = default, string? title = null)
    {
        using var plot = RegressionPlot(x, y, gridX, gridY, title);
        Save(plot, path);
    }

    /// <summary>The figure <see cref="Regression"/> writes, to be saved or set beside others.</summary>
    public static Plot RegressionPlot(ReadOnlySpan<float> x, ReadOnlySpan<float> y,
        ReadOnlySpan<float> gridX = default, ReadOnlySpan<float> gridY = default, string? title = null)
    {
        if (x.Length != y.Length) throw new ArgumentException($"x has {x.Length} values but y has {y.Length}");
        if (gridX.Length != gridY.Length) throw new ArgumentException($"gridX has {gridX.Length} values but gridY has {gridY.Length}");
        bool fitted = gridX.Length > 0;
        var plot = NewPlot(title ?? (fitted ? "plot of f(x) and f̂(x)" : "plot of f(x)"), "x", "y");

        var data = plot.Add.ScatterPoints(ToDoubles(x), ToDoubles(y), DataBlue);
        data.MarkerSize = 6;
        if (fitted)
        {
            data.LegendText = "data";
            var fit = plot.Add.ScatterLine(ToDoubles(gridX), ToDoubles(gridY), FitRed);
            fit.LineWidth = 2;
            fit.LegendText = "fit";
            var legend = plot.ShowLegend(Alignment.UpperRight);
            legend.FontSize = 13;
            legend.ShadowColor = Colors.Transparent;
        }
        return plot;
    }

    /// <summary>Loss against step; the loss axis is logarithmic when every loss is positive.</summary>
    public static void LossCurve(string path, ReadOnlySpan<long> steps, ReadOnlySpan<double> losses,
        string title = "training loss (MSE)")
    {
        if (steps.Length != losses.Length) throw new ArgumentException($"steps has {steps.Length} values but losses has {losses.Length}");
        bool log = losses.Length > 0;
        foreach (var loss in losses) log &= loss > 0 && double.IsFinite(loss);
        using var plot = NewPlot(title, "step", log ? "loss (log scale)" : "loss");

        var ys = losses.ToArray();
        if (log)
        {
            for (int i = 0; i < ys.Length; i++) ys[i] = Math.Log10(ys[i]);
            plot.Axes.Left.TickGenerator = new NumericAutomatic
            {
                IntegerTicksOnly = ys.Max() - ys.Min() >= 1, // decades, where the losses span one
                MinorTickGenerator = new LogMinorTickGenerator(),
                LabelFormatter = e => Math.Pow(10, e).ToString("g3", System.Globalization.CultureInfo.InvariantCulture),
            };
        }
        var xs = new double[steps.Length];
        for (int i = 0; i < xs.Length; i++) xs[i] = steps[i];
        plot.Add.ScatterLine(xs, ys, DataBlue).LineWidth = 2;
        Save(plot, path);
    }

    private static Plot NewPlot(string title, string xLabel, string yLabel)
    {
        var plot = new Plot();
        if (SansFont is { } font) plot.Font.Set(font);
        plot.Title(title, size: 18);
        plot.XLabel(xLabel, size: 15);
        plot.YLabel(yLabel, size: 15);
        plot.Axes.Bottom.TickLabelStyle.FontSize = 13;
        plot.Axes.Left.TickLabelStyle.FontSize = 13;
        return plot;
    }

    // ScottPlot's SavePng picks the format from the extension, and the temporary file ends in .tmp.
    private static void Save(Plot plot, string path)
    {
        var png = plot.GetImageBytes(Width, Height, ImageFormat.Png);
        AtomicFile.Write(path, temp => File.WriteAllBytes(temp, png));
    }

    private static double[] ToDoubles(ReadOnlySpan<float> values)
    {
        var result = new double[values.Length];
        for (int i = 0; i < values.Length; i++) result[i] = values[i];
        return result;
    }
}
