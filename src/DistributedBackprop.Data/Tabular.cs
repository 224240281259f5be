using System.Globalization;
using System.Security.Cryptography;
using DistributedBackprop.Core;

namespace DistributedBackprop.Data;

/// <summary>
/// A training CSV as data sets: the training split, the held-out split (a share of the training file picked
/// by the seed, or a test file) and the card that says what the columns are. A pure function of the file's
/// bytes and the arguments, so a worker node that loads the same file gets the same examples, bit for bit.
/// </summary>
public sealed record TabularData(Dataset Train, Dataset? Held, string HeldName, DataCard Card);

public static class Tabular
{
    /// <summary>At most this share of the training file is held out for validation.</summary>
    public const double MaxValidation = 0.9;

    /// <summary>
    /// Loads <paramref name="trainPath"/> with <paramref name="target"/> as the target: for
    /// <paramref name="task"/> "classification" its values are class names, for "regression" numbers; null
    /// decides by the first row (a number: regression). Every other column is a feature, standardised with
    /// the training split's statistics. <paramref name="validation"/> (0 for none) is the share of rows held
    /// out, drawn by <paramref name="seed"/>; <paramref name="testPath"/>, where given, is the held-out split
    /// instead (read with the training file's columns, by name). Without <paramref name="loadHeld"/> the
    /// held-out rows are left out but not read (a worker needs only the training split).
    /// </summary>
    public static TabularData Load(string trainPath, string target, string? task, double validation, string? testPath, int seed, bool loadHeld = true)
    {
        if (!(validation >= 0 && validation <= MaxValidation)) throw new DataException($"the validation share must be from 0 to {MaxValidation}, not {validation.ToString(CultureInfo.InvariantCulture)}");
        if (validation > 0 && testPath is not null) throw new DataException("hold out a validation share or give a test file, not both");
        task ??= Csv.FirstValue(trainPath, target) is string first && !double.TryParse(first, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
            ? DataCard.Classification : DataCard.Regression;
        if (task is not (DataCard.Regression or DataCard.Classification)) throw new DataException($"unknown task '{task}' (regression or classification)");
        bool classify = task == DataCard.Classification;
        var kind = classify ? TargetColumn.Texts : TargetColumn.Numbers;
        var table = Csv.Read(trainPath, null, target, kind);
        int f = table.Features.Count, rows = table.Rows;
        if (f > DataCard.MaxFeatures) throw new DataException($"{trainPath}: {f} feature columns; at most {DataCard.MaxFeatures}");

        var held = new bool[rows];
        int heldCount = validation > 0 ? (int)Math.Round(validation * rows) : 0;
        if (validation > 0 && (heldCount < 1 || heldCount >= rows))
            throw new DataException($"{trainPath}: a validation share of {validation.ToString(CultureInfo.InvariantCulture)} of {rows} rows leaves {(heldCount < 1 ? "no validation row" : "no training row")}");
        foreach (var r in Rng.For(seed, "validation split").Permutation(rows).AsSpan(0, heldCount)) held[r] = true;
        var trainRows = Enumerable.Range(0, rows).Where(r => !held[r]).ToArray();
        var heldRows = Enumerable.Range(0, rows).Where(r => held[r]).ToArray();

        var trainRaw = Rows(table.Values, f, trainRows);
        var (mean, std) = DataCard.Statistics(trainRaw, f, trainPath, table.Features);
        var classes = classify ? DataCard.ClassesOf(table.TargetTexts!, trainPath) : null;
        if (classes is { Length: < 2 }) throw new DataException($"{trainPath}: column '{target}' has one class ('{classes[0]}'): classification needs two or more");
        var card = new DataCard(task, target, table.Features, mean, std, classes);
        var train = Build(card, trainRaw, Pick(table, trainRows), trainPath);
        if (!loadHeld) return new TabularData(train, null, "", card);
        if (heldCount > 0) return new TabularData(train, Build(card, Rows(table.Values, f, heldRows), Pick(table, heldRows), trainPath), "validation", card);
        if (testPath is null) return new TabularData(train, null, "", card);
        var test = Csv.Read(testPath, card.Features, target, kind);
        return new TabularData(train, Build(card, test.Values, (test.TargetNumbers, test.TargetTexts), testPath), "test", card);
    }

    /// <summary>A labelled CSV read for a model with this card: its features by name, its target as the card's task reads it.</summary>
    public static Dataset Labelled(DataCard card, string path)
    {
        var table = Csv.Read(path, card.Features, card.Target, card.IsClassification ? TargetColumn.Texts : TargetColumn.Numbers);
        return Build(card, table.Values, (table.TargetNumbers, table.TargetTexts), path);
    }

    /// <summary>A CSV's features for a model with this card, standardised, [rows, features]; its other columns are not read.</summary>
    public static (float[] Inputs, int Rows) Unlabelled(DataCard card, string path)
    {
        var table = Csv.Read(path, card.Features, null, TargetColumn.None);
        return (card.Standardize(table.Values), table.Rows);
    }

    private static Dataset Build(DataCard card, ReadOnlySpan<double> raw, (double[]? Numbers, string[]? Texts) target, string source)
    {
        int n = raw.Length / card.Features.Count;
        var x = card.Standardize(raw);
        if (card.IsClassification) return Dataset.Classification(x, [n, card.Features.Count], card.Labels(target.Texts!, source), card.Classes!.Count);
        var y = new float[n];
        for (int i = 0; i < n; i++) y[i] = (float)target.Numbers![i];
        return new Dataset(x, [n, card.Features.Count], y, [n, 1]);
    }

    private static ArraySegment<double> Rows(ArraySegment<double> values, int f, int[] rows)
    {
        if (rows.Length * f == values.Count) return values;
        var picked = new double[rows.Length * f];
        for (int i = 0; i < rows.Length; i++) values.AsSpan(rows[i] * f, f).CopyTo(picked.AsSpan(i * f, f));
        return picked;
    }

    private static (double[]?, string[]?) Pick(CsvTable t, int[] rows) =>
        (t.TargetNumbers is null ? null : rows.Select(r => t.TargetNumbers[r]).ToArray(), t.TargetTexts is null ? null : rows.Select(r => t.TargetTexts[r]).ToArray());

    /// <summary>SHA-256 of a file's bytes (hex): a worker node checks that its copy of a data file is the one the job was made from.</summary>
    public static string Hash(string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            return Convert.ToHexStringLower(SHA256.HashData(file));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new DataException($"{path}: cannot read ({e.Message})"); }
    }
}
