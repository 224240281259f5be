using System.Text.Json;

namespace DistributedBackprop.Cli.Tests;

public class JitProfileTests
{
    [Theory]
    [InlineData(new string[0], "demo")]
    [InlineData(new[] { "train", "regression", "--json" }, "train-regression")]
    [InlineData(new[] { "train", "--steps", "5" }, "train")]
    [InlineData(new[] { "node", "--role", "worker" }, null)]
    [InlineData(new[] { "train", "../../etc" }, "train")]
    [InlineData(new[] { "--help" }, null)]
    [InlineData(new[] { "../x" }, null)]
    [InlineData(new[] { "Train" }, null)]
    public void A_profile_is_named_after_the_command_and_nothing_else(string[] args, string? expected) =>
        Assert.Equal(expected, JitProfile.Name(args));

    [Fact]
    public void The_folder_is_the_setting_else_the_xdg_cache_else_home()
    {
        Assert.Null(JitProfile.Folder("off", "/c", "/h"));
        Assert.Equal(Path.GetFullPath("/p"), JitProfile.Folder("/p", "/c", "/h"));
        Assert.Equal(Path.Combine("/c", "dbp", "jit"), JitProfile.Folder(null, "/c", "/h"));
        Assert.Equal(Path.Combine("/h", ".cache", "dbp", "jit"), JitProfile.Folder(null, "relative", "/h")); // XDG: a relative path is ignored
        Assert.Equal(Path.Combine("/h", ".cache", "dbp", "jit"), JitProfile.Folder("", "", "/h"));
        Assert.Null(JitProfile.Folder(null, null, null));
    }

    private static string Train(Dictionary<string, string> environment)
    {
        var (exit, output, err) = DbpProcess.Run(TimeSpan.FromMinutes(2), environment, "train", "regression", "--steps", "30", "--json");
        Assert.True(exit == 0, err);
        return JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement.GetProperty("param_hash").GetString()!;
    }

    [Fact]
    public void A_run_records_its_profile_and_a_damaged_one_changes_nothing_but_is_replaced()
    {
        var folder = Directory.CreateTempSubdirectory("dbp-jit-").FullName;
        try
        {
            var environment = new Dictionary<string, string> { ["DBP_JIT_PROFILES"] = folder };
            var first = Train(environment);
            var profile = Path.Combine(folder, "train-regression.jitprofile");
            Assert.True(new FileInfo(profile).Length > 1000);
            var garbage = new byte[4096];
            new Random(3).NextBytes(garbage);
            File.WriteAllBytes(profile, garbage);
            var second = Train(environment);
            Assert.Equal(first, second);
            Assert.NotEqual(garbage, File.ReadAllBytes(profile));
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [Fact]
    public void Off_writes_nothing()
    {
        var cache = Directory.CreateTempSubdirectory("dbp-cache-").FullName;
        try
        {
            Train(new Dictionary<string, string> { ["DBP_JIT_PROFILES"] = "off", ["XDG_CACHE_HOME"] = cache });
            Assert.Empty(Directory.EnumerateFileSystemEntries(cache));
            Train(new Dictionary<string, string> { ["XDG_CACHE_HOME"] = cache });
            Assert.True(File.Exists(Path.Combine(cache, "dbp", "jit", "train-regression.jitprofile")));
        }
        finally { Directory.Delete(cache, recursive: true); }
    }

    [Fact]
    public void A_file_where_the_folder_should_be_only_costs_the_head_start()
    {
        var file = Path.GetTempFileName();
        try
        {
            var hash = Train(new Dictionary<string, string> { ["DBP_JIT_PROFILES"] = file });
            Assert.Matches("^[0-9a-f]{64}$", hash);
            Assert.Equal(0, new FileInfo(file).Length); // not written over
        }
        finally { File.Delete(file); }
    }
}
