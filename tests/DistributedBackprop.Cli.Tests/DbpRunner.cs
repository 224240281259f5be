namespace DistributedBackprop.Cli.Tests;

/// <summary>Runs dbp in this process with standard output and error captured.</summary>
public static class DbpRunner
{
    private static readonly object Gate = new();

    public sealed record Result(int ExitCode, string Out, string Err)
    {
        public string LastLine => Out.TrimEnd().Split('\n')[^1];
    }

    public static Result Run(params string[] args)
    {
        lock (Gate) // Console is process-wide
        {
            var (oldOut, oldErr) = (Console.Out, Console.Error);
            var (o, e) = (new StringWriter(), new StringWriter());
            Console.SetOut(o);
            Console.SetError(e);
            try { return new Result(Cli.Run(Cli.Root(), args), o.ToString(), e.ToString()); }
            finally { Console.SetOut(oldOut); Console.SetError(oldErr); }
        }
    }

    /// <summary>A bad-input failure: non-zero exit, one line on stderr, no stack trace.</summary>
    public static void AssertOneLineError(Result r, string expected)
    {
        Assert.NotEqual(0, r.ExitCode);
        var lines = r.Err.TrimEnd().Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("dbp: ", lines[0]);
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotMatch(@"(?m)^\s+at \S+\(", r.Err); // no stack frame ("   at Namespace.Type.Method(")
        Assert.DoesNotContain("Exception:", r.Err.Replace("internal error:", ""));
    }

    /// <summary>Bad input: exit 2, one line on stderr, nothing on stdout.</summary>
    public static void AssertBadInput(Result r, string expected)
    {
        AssertOneLineError(r, expected);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("", r.Out);
    }
}
