using System.CommandLine;
using DistributedBackprop.Core;

namespace DistributedBackprop.Cli;

/// <summary>Bad input from the user: reported as one line on standard error, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

public static class Cli
{
    public static RootCommand Root() => HelpText.Apply(new RootCommand("dbp — a backpropagation engine and distributed trainer (the PyTorch backprop notebook, in .NET)")
    {
        Demo.DemoCommand.Create(),
        GradCommand.Create(),
        GraphCommand.Create(),
        GradCheckCommand.Create(),
        TrainCommand.Create(),
        NodeCommand.Create(),
        CertCommand.Create(),
        PredictCommand.Create(),
        EvalCommand.Create(),
        ExportCommand.Create(),
        Bench.BenchCommand.Create(),
    });

    /// <summary>
    /// Runs the command line so that every failure is one line on standard error and a non-zero exit:
    /// 2 for bad input, 1 for a failure while working. DBP_DEBUG=1 shows the stack trace.
    /// </summary>
    public static int Run(RootCommand root, string[] args)
    {
        var parsed = root.Parse(args.Length == 0 ? ["--help"] : args);
        if (parsed.Errors.Count > 0)
        {
            Console.Error.WriteLine($"dbp: {Error(parsed)} (see '{string.Join(' ', CommandPath(parsed))} --help')");
            return 2;
        }
        try
        {
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("DBP_DEBUG") != "1")
        {
            var (code, message) = e switch
            {
                UsageException or ParseException or UnboundVariableException or ShapeException => (2, e.Message),
                DistributedBackprop.Data.DataException or DistributedBackprop.Nn.CheckpointException => (2, e.Message),
                DistributedBackprop.Nn.OutputPathException or DistributedBackprop.Actors.CertificateException => (2, e.Message),
                DistributedBackprop.Training.JobException or DistributedBackprop.Nn.ModelSpecException => (2, e.Message),
                DistributedBackprop.Training.TrainingDivergedException => (1, e.Message),
                IOException or UnauthorizedAccessException or TimeoutException => (1, e.Message),
                _ => (1, $"internal error: {e.GetType().Name}: {e.Message}"),
            };
            Console.Error.WriteLine($"dbp: {message}");
            return code;
        }
    }

    /// <summary>
    /// The parser's own message, a word it did not recognise first (with what it may have meant) rather than
    /// the "required command was not provided" that follows from it.
    /// </summary>
    private static string Error(ParseResult parsed)
    {
        if (parsed.UnmatchedTokens.FirstOrDefault() is { } word)
        {
            var close = Suggestions.For(word, Suggestions.Names(parsed.CommandResult.Command));
            var message = parsed.Errors.FirstOrDefault(e => e.Message.Contains($"'{word}'"))?.Message.TrimEnd('.') ?? $"Unrecognized command or argument '{word}'";
            return close.Count == 0 ? message : $"{message}; did you mean {string.Join(" or ", close.Take(3).Select(c => $"'{c}'"))}?";
        }
        return ModelOptions.OneLine(parsed.Errors[0]);
    }

    private static IEnumerable<string> CommandPath(ParseResult parsed)
    {
        var names = new List<string>();
        for (var r = parsed.CommandResult; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult)
            names.Insert(0, r.Command.Name);
        return names;
    }
}
