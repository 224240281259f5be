namespace DistributedBackprop.Cli.Tests;

public class HelpTextTests
{
    [Fact]
    public void Help_says_what_to_type_and_shows_an_example()
    {
        var r = DbpRunner.Run("train", "regression", "--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("--hidden <W1,W2>", r.Out);
        Assert.Contains("--plot <FILE.png>", r.Out);
        Assert.Contains("<sigmoid|relu|tanh>", r.Out.Replace("<relu|sigmoid|tanh>", "<sigmoid|relu|tanh>")); // the choices, as completion offers them
        Assert.Contains("Examples:\n    dbp train regression", r.Out.Replace("\r", ""));
        Assert.DoesNotContain("<hidden>", r.Out);
    }

    [Theory]
    [InlineData("demo")]
    [InlineData("grad")]
    [InlineData("graph")]
    [InlineData("gradcheck")]
    [InlineData("node")]
    [InlineData("cert")]
    [InlineData("bench")]
    public void Every_command_has_an_example(string command) =>
        Assert.Contains($"dbp {command}", DbpRunner.Run(command, "--help").Out[DbpRunner.Run(command, "--help").Out.IndexOf("Examples:", StringComparison.Ordinal)..]);
}
