namespace DistributedBackprop.Cli.Tests;

public class SuggestionsTests
{
    [Theory]
    [InlineData("tarin", "train")]    // two letters swapped
    [InlineData("--step", "--steps")] // one missing
    [InlineData("regresion", "regression")]
    [InlineData("gard", "grad")]
    public void A_near_miss_gets_the_name_it_was_meant_to_be(string typo, string meant) =>
        Assert.Equal(meant, Suggestions.For(typo, ["train", "grad", "graph", "gradcheck", "--steps", "--seed", "regression", "fashion-mnist"]).First());

    [Fact]
    public void A_word_like_nothing_gets_no_suggestion() =>
        Assert.Empty(Suggestions.For("frobnicate", ["train", "grad", "graph", "demo"]));

    [Theory]
    [InlineData(new[] { "tarin" }, "did you mean 'train'?")]
    [InlineData(new[] { "train", "regression", "--step", "10" }, "did you mean '--steps'?")]
    public void The_command_line_says_what_a_typo_may_have_meant(string[] args, string suggestion) =>
        DbpRunner.AssertOneLineError(DbpRunner.Run(args), suggestion);
}
