using System.CommandLine;

namespace DistributedBackprop.Cli;

/// <summary>
/// "Did you mean": for a word the parser did not recognise, the command's own subcommands and options that are
/// within a couple of typing mistakes of it (Damerau-Levenshtein: a letter wrong, missing, extra, or two
/// swapped), nearest first. A pure function of the word and the names.
/// </summary>
public static class Suggestions
{
    public static IReadOnlyList<string> For(string word, IEnumerable<string> names)
    {
        int allowed = Math.Max(1, word.TrimStart('-').Length / 3);
        return [.. names.Distinct()
            .Select(n => (Name: n, Distance: Distance(word, n)))
            .Where(c => c.Distance <= allowed || c.Name.StartsWith(word, StringComparison.Ordinal) && word.TrimStart('-').Length >= 2)
            .OrderBy(c => c.Distance).ThenBy(c => c.Name, StringComparer.Ordinal)
            .Select(c => c.Name)];
    }

    /// <summary>The names a command answers to below it: its subcommands' and options' names and aliases.</summary>
    public static IEnumerable<string> Names(Command command) =>
        command.Subcommands.SelectMany(c => c.Aliases.Prepend(c.Name))
            .Concat(command.Options.Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name)));

    /// <summary>The optimal string alignment distance between two words.</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}
