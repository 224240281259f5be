using DistributedBackprop.Nn;
using ScottPlot;
using SkiaSharp;

namespace DistributedBackprop.Cli;

// Learning curves: figures set side by side in one PNG.
public static partial class Plots
{
    internal static readonly Color Blue = DataBlue, Navy = Color.FromHex("#0b3c73"), Orange = Color.FromHex("#ff7f0e");

    internal static Plot NewFigure(string title, string xLabel, string yLabel) => NewPlot(title, xLabel, yLabel);

    internal static void Legend(Plot plot)
    {
        var legend = plot.ShowLegend(Alignment.UpperRight);
        legend.FontSize = 13;
        legend.ShadowColor = Colors.Transparent;
    }

    /// <summary>Figures of <see cref="Width"/> × <see cref="Height"/> side by side, left to right, in one PNG; each figure is disposed.</summary>
    public static void SaveSideBySide(string path, IReadOnlyList<Plot> plots)
    {
        try
        {
            using var surface = SKSurface.Create(new SKImageInfo(Width * plots.Count, Height));
            surface.Canvas.Clear(SKColors.White);
            for (int i = 0; i < plots.Count; i++)
            {
                using var figure = SKBitmap.Decode(plots[i].GetImageBytes(Width, Height, ImageFormat.Png));
                surface.Canvas.DrawBitmap(figure, i * Width, 0);
            }
            using var image = surface.Snapshot();
            using var png = image.Encode(SKEncodedImageFormat.Png, 100);
            var bytes = png.ToArray();
            AtomicFile.Write(path, temp => File.WriteAllBytes(temp, bytes));
        }
        finally
        {
            foreach (var p in plots) p.Dispose();
        }
    }
}
