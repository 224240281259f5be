using System.Diagnostics;
using System.Globalization;
using DistributedBackprop.Data;
using nietras.SeparatedValues;

namespace DistributedBackprop.Benchmarks;

/// <summary>
/// CSV parsing of a numeric file, round by round: dbp's reader (<see cref="Csv.Read"/>: every column checked
/// and parsed to double, the values in one array — what training loads), and the two libraries it was chosen
/// from, each parsing every field to double with nothing else: CsvHelper 34 and Sep 0.17.1. A round reads the
/// file once with each; the medians are printed. csv/bench.sh runs this and pandas alternately.
/// </summary>
public static class CsvParsing
{
    public static readonly (string Name, Func<string, long> Read)[] Readers =
    [
        ("dbp (CsvHelper, checked)", path => Csv.Read(path, null, null, TargetColumn.None).Values.Count),
        ("CsvHelper 34.0.0", path =>
        {
            using var csv = CsvHelper.CsvReader.FromFile(path, new CsvHelper.CsvReaderOptions { Separator = ',', HasHeader = true, FormatProvider = CultureInfo.InvariantCulture });
            long n = 0;
            double sum = 0;
            while (csv.Read())
                for (int c = 0; c < csv.FieldCount; c++, n++) sum += csv.Parse<double>(c);
            return sum == 0.5 ? 0 : n;
        }),
        ("Sep 0.17.1", path =>
        {
            using var reader = Sep.Reader(o => o with { HasHeader = true, CultureInfo = CultureInfo.InvariantCulture }).FromFile(path);
            long n = 0;
            double sum = 0;
            foreach (var row in reader)
                for (int c = 0; c < row.ColCount; c++, n++) sum += row[c].Parse<double>();
            return sum == 0.5 ? 0 : n;
        }),
    ];

    /// <summary>One line a reader: its median seconds over the rounds and the values it read.</summary>
    public static void Print(string path, int rounds, TextWriter output)
    {
        var times = Readers.ToDictionary(r => r.Name, _ => new List<double>());
        long values = 0;
        for (int round = 0; round < rounds; round++)
            foreach (var (name, read) in Readers)
            {
                GC.Collect();
                var clock = Stopwatch.StartNew();
                values = read(path);
                times[name].Add(clock.Elapsed.TotalSeconds);
            }
        foreach (var (name, t) in times)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: median {t.Order().ElementAt(t.Count / 2):F3} s of {string.Join(", ", t.Select(v => v.ToString("F3", CultureInfo.InvariantCulture)))} ({values} values)"));
    }
}
