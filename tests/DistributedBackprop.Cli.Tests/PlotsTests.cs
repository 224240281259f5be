using System.Buffers.Binary;
using SkiaSharp;

namespace DistributedBackprop.Cli.Tests;

public class PlotsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dbp-plots-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // The notebook's data: y = 4 sin(pi x) cos(6 pi x^2) at 200 points, and the curve on a 50-point grid.
    private static float F(float x) => 4 * MathF.Sin(MathF.PI * x) * MathF.Cos(6 * MathF.PI * x * x);
    private static readonly float[] X = Enumerable.Range(0, 200).Select(i => (i * 0.618034f) % 1f).ToArray();
    private static readonly float[] Y = X.Select(F).ToArray();
    private static readonly float[] GridX = Enumerable.Range(0, 50).Select(i => i / 49f).ToArray();
    private static readonly float[] GridY = GridX.Select(F).ToArray();

    [Fact]
    public void Regression_with_a_grid_draws_blue_dots_and_a_red_line()
    {
        var path = Path.Combine(_dir, "fit.png");
        Plots.Regression(path, X, Y, GridX, GridY);
        var pixels = AssertPng(path);
        Assert.True(pixels.Count(IsRed) > 300, $"{pixels.Count(IsRed)} red pixels");
        Assert.True(pixels.Count(IsBlue) > 1000, $"{pixels.Count(IsBlue)} blue pixels");
        Assert.Equal([path], Directory.GetFiles(_dir)); // no temporary file left behind
    }

    [Fact]
    public void Title_is_drawn()
    {
        var path = Path.Combine(_dir, "fit.png");
        Plots.Regression(path, X, Y, GridX, GridY);
        var pixels = AssertPng(path);
        int titleInk = pixels[..(24 * Plots.Width)].Count(p => p.Red < 128 && p.Green < 128 && p.Blue < 128);
        // Without a font file under /usr/share/fonts, Skia draws no text at all and says nothing.
        Assert.True(titleInk > 100, $"no title text ({titleInk} dark pixels): install fonts-dejavu-core");
    }

    [Fact]
    public void Regression_without_a_grid_draws_only_the_dots()
    {
        var path = Path.Combine(_dir, "data.png");
        Plots.Regression(path, X, Y);
        var pixels = AssertPng(path);
        Assert.DoesNotContain(pixels, IsRed);
        Assert.True(pixels.Count(IsBlue) > 1000, $"{pixels.Count(IsBlue)} blue pixels");
    }

    [Fact]
    public void Loss_curve_is_a_png_with_a_line()
    {
        var path = Path.Combine(_dir, "loss.png");
        long[] steps = Enumerable.Range(0, 100).Select(i => 10L * i).ToArray();
        double[] losses = steps.Select(s => 4 * Math.Exp(-s / 150.0) + 1e-3).ToArray();
        Plots.LossCurve(path, steps, losses);
        Assert.True(AssertPng(path).Count(IsBlue) > 300);
    }

    [Fact]
    public void Loss_curve_with_a_zero_loss_still_draws()
    {
        var path = Path.Combine(_dir, "loss.png");
        Plots.LossCurve(path, [0, 1, 2], [1.0, 0.5, 0.0]);
        Assert.True(AssertPng(path).Count(IsBlue) > 100);
    }

    [Fact]
    public void Missing_folder_throws_and_leaves_nothing()
    {
        var path = Path.Combine(_dir, "missing", "fit.png");
        Assert.Throws<IOException>(() => Plots.Regression(path, X, Y, GridX, GridY));
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void Failed_rename_throws_and_leaves_no_temporary_file()
    {
        var path = Path.Combine(_dir, "taken.png");
        Directory.CreateDirectory(path); // a folder where the PNG should go
        Assert.ThrowsAny<IOException>(() => Plots.LossCurve(path, [0, 1], [1.0, 0.5]));
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void Mismatched_lengths_are_refused()
    {
        var path = Path.Combine(_dir, "bad.png");
        Assert.Throws<ArgumentException>(() => Plots.Regression(path, X, Y.AsSpan(1)));
        Assert.Throws<ArgumentException>(() => Plots.Regression(path, X, Y, GridX, GridY.AsSpan(1)));
        Assert.Throws<ArgumentException>(() => Plots.LossCurve(path, [0, 1], [1.0]));
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    /// <summary>Checks the signature, the IHDR size and that the picture is not blank; returns its pixels.</summary>
    private static SKColor[] AssertPng(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.Equal([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], bytes[..8]);
        Assert.Equal("IHDR"u8.ToArray(), bytes[12..16]);
        Assert.Equal(Plots.Width, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)));
        Assert.Equal(Plots.Height, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));

        using var bitmap = SKBitmap.Decode(bytes);
        Assert.NotNull(bitmap);
        Assert.Equal((Plots.Width, Plots.Height), (bitmap.Width, bitmap.Height));
        var pixels = bitmap.Pixels;
        int inked = pixels.Count(p => p.Red < 200 || p.Green < 200 || p.Blue < 200);
        Assert.True(inked > 2000, $"only {inked} non-white pixels");
        return pixels;
    }

    private static bool IsRed(SKColor p) => p.Red > 200 && p.Green < 80 && p.Blue < 80;
    private static bool IsBlue(SKColor p) => p.Blue > 140 && p.Red < 80 && p.Blue - p.Red > 100; // matplotlib's #1f77b4
}
