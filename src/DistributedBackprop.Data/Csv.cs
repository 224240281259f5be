using System.Globalization;
using CsvHelper;

namespace DistributedBackprop.Data;

/// <summary>
/// Columns of a CSV file read whole: the feature columns as doubles, row after row (a view of the array they
/// were parsed into, which may be longer), and the target column as numbers or as text (class names), or absent.
/// </summary>
public sealed record CsvTable(string Source, IReadOnlyList<string> Features, int Rows, ArraySegment<double> Values, double[]? TargetNumbers, string[]? TargetTexts);

/// <summary>How a CSV's target column is read: not at all, as numbers, or as class names.</summary>
public enum TargetColumn { None, Numbers, Texts }

/// <summary>
/// CSV files of numbers with a header row, comma-separated, UTF-8 (RFC 4180 quoting), read with CsvHelper
/// (chosen over Sep by measurement: see the README's Speed section). Columns are found by their header
/// names, so a file may carry them in any order and carry others; every value of a column that is read must
/// be a finite number, and the first one that is not stops the read with one line naming the file, the data
/// row (counted from 1 after the header), its line and the column.
/// </summary>
public static class Csv
{
    /// <summary>A bound on what one file may ask this process to hold: rows × columns values.</summary>
    public const long MaxValues = 1L << 28; // 2 GB as doubles while reading

    private static CsvReaderOptions Options => new()
    {
        Separator = ',', HasHeader = true, FormatProvider = CultureInfo.InvariantCulture, TrimWhitespace = true,
        MalformedData = CsvMalformedDataHandling.Throw, MaxRecordSize = 1 << 24,
    };

    /// <summary>The header's column names.</summary>
    public static IReadOnlyList<string> Header(string path)
    {
        using var reader = Open(path);
        return Header(reader, path);
    }

    private static CsvReader Open(string path)
    {
        try { return CsvReader.FromFile(path, Options); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new DataException($"{path}: cannot read ({e.Message})"); }
    }

    private static IReadOnlyList<string> Header(CsvReader reader, string path)
    {
        IReadOnlyList<string> names;
        try { names = [.. reader.Headers]; }
        catch (CsvFormatException e) { throw new DataException($"{path}: the header row is malformed ({e.Message})"); }
        if (names.Count == 0) throw new DataException($"{path}: empty file: expected a header row of column names");
        var duplicate = names.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new DataException($"{path}: column '{duplicate.Key}' appears twice in the header");
        if (names.Any(string.IsNullOrEmpty)) throw new DataException($"{path}: the header has an empty column name (column {names.ToList().FindIndex(string.IsNullOrEmpty) + 1})");
        return names;
    }

    /// <summary>
    /// Reads <paramref name="features"/> (null: every column but the target, in file order) and the target
    /// column as <paramref name="target"/> says. A target that is required but absent, or a feature that is not
    /// in the header, is an error naming the columns there are.
    /// </summary>
    public static CsvTable Read(string path, IReadOnlyList<string>? features, string? targetName, TargetColumn target)
    {
        using var reader = Open(path);
        var header = Header(reader, path);
        int targetIndex = -1;
        if (target != TargetColumn.None)
        {
            targetIndex = IndexOf(header, targetName!);
            if (targetIndex < 0) throw new DataException($"{path}: no column '{targetName}' (the columns are {List(header)})");
        }
        features ??= header.Where((_, i) => i != targetIndex).ToArray();
        if (features.Count == 0) throw new DataException($"{path}: no feature columns besides the target '{targetName}'");
        var indices = new int[features.Count];
        for (int i = 0; i < indices.Length; i++)
        {
            indices[i] = IndexOf(header, features[i]);
            if (indices[i] < 0) throw new DataException($"{path}: no column '{features[i]}', which the model reads (the columns are {List(header)})");
        }
        // One array, sized after the first rows from their bytes and the file's length (grown by doubling past
        // that) and never copied to trim it: a first read pays for every page it touches.
        int width = indices.Length, needed = indices.Append(targetIndex).Max() + 1;
        long length = new FileInfo(path).Length;
        var all = new double[1024 * width];
        long used = 0;
        int rows = 0;
        var numbers = target == TargetColumn.Numbers ? new List<double>() : null;
        var texts = target == TargetColumn.Texts ? new List<string>() : null;
        try
        {
            while (reader.Read())
            {
                rows++;
                if ((long)rows * (width + 1) > MaxValues) throw new DataException($"{path}: over {MaxValues} values: too large to load");
                if (rows == 1024 && reader.ByteOffset > 0)
                    Array.Resize(ref all, (int)Math.Clamp((long)(length / (double)reader.ByteOffset * 1023 * 1.02 + 16) * width, all.Length, MaxValues));
                if (used + width > all.Length) Array.Resize(ref all, (int)Math.Min(MaxValues, 2L * all.Length));
                if (reader.FieldCount < needed) throw Bad(reader, path, header[Enumerable.Range(reader.FieldCount, needed - reader.FieldCount).First(c => c == targetIndex || indices.Contains(c))], "missing value");
                for (int i = 0; i < width; i++)
                    all[used++] = reader.TryParse<double>(indices[i], out var v) && double.IsFinite(v) ? v : NotANumber(reader, indices[i], header, path);
                if (numbers is not null) numbers.Add(reader.TryParse<double>(targetIndex, out var y) && double.IsFinite(y) ? y : NotANumber(reader, targetIndex, header, path));
                else if (texts is not null)
                {
                    if (reader.IsEmpty(targetIndex)) throw Bad(reader, path, header[targetIndex], "missing value");
                    texts.Add(reader.GetString(targetIndex));
                }
            }
        }
        catch (CsvFormatException e) { throw new DataException($"{path}: row {reader.RowNumber} (line {Line(path, reader.ByteOffset)}): malformed CSV ({e.Message})"); }
        if (rows == 0) throw new DataException($"{path}: no data rows after the header");
        return new CsvTable(path, features, rows, new ArraySegment<double>(all, 0, (int)used), numbers?.ToArray(), texts?.ToArray());
    }

    /// <summary>The first data row's value in <paramref name="column"/>, or null where the file has no data row or no such column.</summary>
    public static string? FirstValue(string path, string column)
    {
        using var reader = Open(path);
        int index = IndexOf(Header(reader, path), column);
        try { return index >= 0 && reader.Read() && index < reader.FieldCount ? reader.GetString(index) : null; }
        catch (CsvFormatException e) { throw new DataException($"{path}: row 1: malformed CSV ({e.Message})"); }
    }

    private static int IndexOf(IReadOnlyList<string> header, string name)
    {
        for (int i = 0; i < header.Count; i++) if (header[i] == name) return i;
        return -1;
    }

    private static string List(IReadOnlyList<string> header) =>
        string.Join(", ", header.Take(12).Select(h => $"'{h}'")) + (header.Count > 12 ? $" and {header.Count - 12} more" : "");

    /// <summary>Why a field that did not parse is not a number: it is missing, not a number, or not finite.</summary>
    private static double NotANumber(CsvReader reader, int index, IReadOnlyList<string> header, string path)
    {
        if (reader.IsEmpty(index)) throw Bad(reader, path, header[index], "missing value");
        var text = reader.GetString(index);
        if (text.Length > 40) text = text[..40] + "...";
        throw double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
            ? Bad(reader, path, header[index], $"'{text}' is not a finite number")
            : Bad(reader, path, header[index], $"'{text}' is not a number");
    }

    private static DataException Bad(CsvReader reader, string path, string column, string what) =>
        new($"{path}: row {reader.RowNumber} (line {Line(path, reader.ByteOffset)}), column '{column}': {what}");

    /// <summary>The 1-based line where a byte offset falls: counted only for an error message, so reading never pays for it.</summary>
    private static long Line(string path, long offset)
    {
        try
        {
            using var file = File.OpenRead(path);
            var buffer = new byte[1 << 16];
            long line = 1, left = offset;
            while (left > 0 && file.Read(buffer, 0, (int)Math.Min(buffer.Length, left)) is var n and > 0)
            {
                line += buffer.AsSpan(0, n).Count((byte)'\n');
                left -= n;
            }
            return line;
        }
        catch (IOException) { return 0; }
    }
}
