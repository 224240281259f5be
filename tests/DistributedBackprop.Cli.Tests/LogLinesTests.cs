using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Event;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;
using Akka.Hosting.Logging;
using Microsoft.Extensions.Logging;

namespace DistributedBackprop.Cli.Tests;

/// <summary>A node's log lines: a time stamp, the level, and for an error the exception with the cause behind it.</summary>
public sealed partial class LogLinesTests
{
    private static readonly DateTimeOffset Noon = new(2026, 12, 1, 12, 0, 0, 250, TimeSpan.FromHours(1));
    private static Exception Refused() => new IOException("cannot reach the seed", new SocketException((int)SocketError.ConnectionRefused));

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")]
    private static partial Regex Stamp();

    [Fact]
    public void A_text_line_has_the_utc_time_the_level_and_every_cause()
    {
        var line = LogLines.Text(Noon, LogLevel.Error, "Akka.Remote", "association failed", Refused());
        Assert.StartsWith("2026-12-01T11:00:00.250Z error Akka.Remote: association failed | IOException: cannot reach the seed <- SocketException: ", line);
        Assert.DoesNotContain('\n', line);
    }

    [Fact]
    public void A_json_line_carries_the_exception_and_its_causes_as_fields()
    {
        var json = JsonDocument.Parse(LogLines.Json(Noon, LogLevel.Warning, "dbp", "line one\nline two", Refused())).RootElement;
        Assert.Equal("2026-12-01T11:00:00.250Z", json.GetProperty("timestamp").GetString());
        Assert.Equal("warn", json.GetProperty("level").GetString());
        Assert.Equal("IOException: cannot reach the seed", json.GetProperty("exception").GetString());
        Assert.StartsWith("SocketException: ", json.GetProperty("causes")[0].GetString());
    }

    private static (ILoggerFactory, StringWriter) Logs(params string[] flags)
    {
        var writer = new StringWriter();
        var configuration = NodeConfiguration.Build([], new Dictionary<string, string>(), flags.Chunk(2).ToDictionary(f => f[0], f => (string?)f[1]));
        return (NodeLogging.Create(NodeSettings.From(configuration), configuration, writer), writer);
    }

    [Fact]
    public void The_node_log_stamps_its_lines_and_keeps_to_its_level()
    {
        var (factory, writer) = Logs("Dbp:LogLevel", "warning");
        using (factory)
        {
            var log = factory.CreateLogger("dbp");
            log.LogInformation("not shown");
            log.LogError(Refused(), "the worker could not join");
        }
        var line = Assert.Single(writer.ToString().TrimEnd().Split('\n'));
        Assert.Matches(Stamp(), line);
        Assert.Contains("the worker could not join | IOException: cannot reach the seed <- SocketException", line);
    }

    [Fact]
    public async Task An_akka_error_reaches_the_log_with_its_cause()
    {
        var (factory, writer) = Logs();
        var config = ConfigurationFactory.ParseString($"akka.loggers = [\"{typeof(AkkaLogBridge).AssemblyQualifiedName}\"]\nakka.stdout-loglevel = OFF");
        using (factory)
        using (var system = ActorSystem.Create("logs", BootstrapSetup.Create().WithConfig(config).And(new LoggerFactorySetup(factory))))
        {
            system.Log.Error(Refused(), "the transport failed");
            for (int i = 0; i < 200 && !writer.ToString().Contains("the transport failed"); i++) await Task.Delay(25);
            await system.Terminate().WaitAsync(TimeSpan.FromSeconds(10));
        }
        var line = writer.ToString().Split('\n').Single(l => l.Contains("the transport failed"));
        Assert.Matches(Stamp(), line);
        Assert.Contains(" error ", line);
        Assert.Contains("IOException: cannot reach the seed <- SocketException", line);
    }
}
