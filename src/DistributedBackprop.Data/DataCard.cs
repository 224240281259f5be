using System.Globalization;
using System.Text.Json;

namespace DistributedBackprop.Data;

/// <summary>
/// What a model's inputs and outputs are, so that it can be used on new data with no other word: the task,
/// the target column, each feature's name and the standardisation it was trained with — input i is
/// (value − <see cref="Mean"/>[i]) / <see cref="Std"/>[i], computed in double and rounded to float — and, for
/// classification, the class names in the order of the model's outputs. Kept in a checkpoint's metadata as
/// JSON under "task", "target", "features" and "classes".
/// </summary>
public sealed record DataCard(string Task, string Target, IReadOnlyList<string> Features, double[] Mean, double[] Std, IReadOnlyList<string>? Classes)
{
    public const string Regression = "regression", Classification = "classification";
    public const int MaxFeatures = 1 << 16, MaxClasses = 1 << 16;

    public bool IsClassification => Task == Classification;

    /// <summary>How many outputs the model has: one a class, or one number.</summary>
    public int Outputs => Classes?.Count ?? 1;

    /// <summary>The notebook's regression: one feature x in [0, 1), left as it is.</summary>
    public static DataCard NotebookRegression { get; } = new(Regression, "y", ["x"], [0], [1], null);

    /// <summary>Fashion-MNIST as CSV files of it are laid out (label, pixel1..pixel784): pixels divided by 255, classes 0..9.</summary>
    public static DataCard FashionMnist { get; } = new(Classification, "label",
        [.. Enumerable.Range(1, 784).Select(i => "pixel" + i.ToString(CultureInfo.InvariantCulture))], new double[784], Enumerable.Repeat(255.0, 784).ToArray(),
        [.. Enumerable.Range(0, Data.FashionMnist.Classes).Select(i => i.ToString(CultureInfo.InvariantCulture))]);

    /// <summary>Standardised inputs, [rows, features], from raw values in the same layout.</summary>
    public float[] Standardize(ReadOnlySpan<double> raw)
    {
        int f = Features.Count;
        var x = new float[raw.Length];
        for (int i = 0; i < raw.Length; i++) x[i] = (float)((raw[i] - Mean[i % f]) / Std[i % f]);
        return x;
    }

    /// <summary>Class names as indices into <see cref="Classes"/>; a name the model does not know is an error naming the row.</summary>
    public int[] Labels(IReadOnlyList<string> names, string source)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < Classes!.Count; i++) index[Classes[i]] = i;
        var labels = new int[names.Count];
        for (int r = 0; r < labels.Length; r++)
            if (!index.TryGetValue(names[r], out labels[r]))
                throw new DataException($"{source}: row {r + 1}, column '{Target}': class '{Short(names[r])}' is not one the model knows ({string.Join(", ", Classes.Take(10))}{(Classes.Count > 10 ? ", ..." : "")})");
        return labels;
    }

    private static string Short(string s) => s.Length > 40 ? s[..40] + "..." : s;

    /// <summary>Standardisation from the rows of a training split: mean and population standard deviation (NumPy's std, sklearn's StandardScaler), in two passes; a constant feature keeps std 1.</summary>
    public static (double[] Mean, double[] Std) Statistics(ReadOnlySpan<double> raw, int features, string source, IReadOnlyList<string> names)
    {
        int rows = raw.Length / features;
        var mean = new double[features];
        var std = new double[features];
        for (int i = 0; i < raw.Length; i++) mean[i % features] += raw[i];
        for (int j = 0; j < features; j++) mean[j] /= rows;
        for (int i = 0; i < raw.Length; i++) { double d = raw[i] - mean[i % features]; std[i % features] += d * d; }
        for (int j = 0; j < features; j++)
        {
            std[j] = Math.Sqrt(std[j] / rows);
            if (!double.IsFinite(std[j]) || !double.IsFinite(mean[j])) throw new DataException($"{source}: column '{names[j]}' is too large to standardise (its mean or spread overflows)");
            if (std[j] == 0) std[j] = 1;
        }
        return (mean, std);
    }

    /// <summary>The class names of a target column in a stable order: numerically where every name is a number ("2" before "10"), else ordinally.</summary>
    public static string[] ClassesOf(IEnumerable<string> names, string source)
    {
        var distinct = names.Distinct(StringComparer.Ordinal).ToArray();
        if (distinct.Length > MaxClasses) throw new DataException($"{source}: over {MaxClasses} classes in the target column");
        bool numeric = distinct.All(n => double.TryParse(n, NumberStyles.Float, CultureInfo.InvariantCulture, out _));
        return numeric
            ? [.. distinct.OrderBy(n => double.Parse(n, CultureInfo.InvariantCulture)).ThenBy(n => n, StringComparer.Ordinal)]
            : [.. distinct.OrderBy(n => n, StringComparer.Ordinal)];
    }

    /// <summary>The card as checkpoint metadata.</summary>
    public Dictionary<string, string> ToMeta()
    {
        var meta = new Dictionary<string, string>
        {
            ["task"] = Task, ["target"] = Target,
            ["features"] = JsonSerializer.Serialize(new Dictionary<string, object> { ["names"] = Features, ["mean"] = Mean, ["std"] = Std }),
        };
        if (Classes is not null) meta["classes"] = JsonSerializer.Serialize(Classes);
        return meta;
    }

    /// <summary>The card in a checkpoint's metadata, checked (it is read from a file); null where there is none.</summary>
    public static DataCard? FromMeta(IReadOnlyDictionary<string, string> meta, string source)
    {
        if (!meta.TryGetValue("features", out var features)) return null;
        try
        {
            var task = meta.GetValueOrDefault("task") ?? throw new DataException($"{source}: the model card has no task");
            if (task is not (Regression or Classification)) throw new DataException($"{source}: unknown task '{task}' in the model card");
            var f = JsonSerializer.Deserialize<FeatureJson>(features) ?? throw new JsonException("null");
            if (f.names is null || f.mean is null || f.std is null || f.names.Length == 0 || f.names.Length > MaxFeatures
                || f.mean.Length != f.names.Length || f.std.Length != f.names.Length || f.std.Any(s => !(s > 0) || !double.IsFinite(s)) || f.mean.Any(m => !double.IsFinite(m)))
                throw new DataException($"{source}: the model card's features are damaged");
            string[]? classes = null;
            if (task == Classification)
            {
                classes = JsonSerializer.Deserialize<string[]>(meta.GetValueOrDefault("classes") ?? "null");
                if (classes is null || classes.Length is 0 or > MaxClasses || classes.Distinct().Count() != classes.Length)
                    throw new DataException($"{source}: the model card's classes are damaged");
            }
            return new DataCard(task, meta.GetValueOrDefault("target") ?? "target", f.names, f.mean, f.std, classes);
        }
        catch (JsonException e) { throw new DataException($"{source}: the model card is damaged ({e.Message})"); }
    }

    private sealed record FeatureJson(string[]? names, double[]? mean, double[]? std);
}
