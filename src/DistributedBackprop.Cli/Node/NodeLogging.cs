using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;
using Akka.Hosting.Logging;
using DistributedBackprop.Actors;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MelLevel = Microsoft.Extensions.Logging.LogLevel;

namespace DistributedBackprop.Cli;

/// <summary>
/// A node's log: Microsoft.Extensions.Logging to standard error (<see cref="LogWriter"/>), at the level and in
/// the format its settings say, with per-category levels from the <c>Logging</c> section of its configuration.
/// Akka's events come in through <see cref="AkkaLogBridge"/>; at the default level Akka's own are shown from
/// warnings up, as before; <c>--log-level</c> sets both.
/// </summary>
public static class NodeLogging
{
    public const string Category = "dbp";

    public static ILoggerFactory Create(NodeSettings settings, IConfiguration configuration, TextWriter? writer = null) =>
        LoggerFactory.Create(b =>
        {
            b.AddConfiguration(configuration.GetSection("Logging"));
            b.SetMinimumLevel(settings.LogLevel);
            if (!settings.LogLevelGiven) b.AddFilter("Akka", MelLevel.Warning);
            b.AddProvider(new LogWriter(writer ?? Console.Error, settings.LogFormat, Environment.GetEnvironmentVariable("DBP_DEBUG") == "1"));
        });

    /// <summary>The level Akka itself filters at: what the bridge would pass on anyway, so nothing is formatted for nothing.</summary>
    public static Akka.Event.LogLevel AkkaLevel(NodeSettings settings) => !settings.LogLevelGiven ? Akka.Event.LogLevel.WarningLevel : settings.LogLevel switch
    {
        MelLevel.Trace or MelLevel.Debug => Akka.Event.LogLevel.DebugLevel,
        MelLevel.Information => Akka.Event.LogLevel.InfoLevel,
        MelLevel.Warning => Akka.Event.LogLevel.WarningLevel,
        _ => Akka.Event.LogLevel.ErrorLevel,
    };

    public static MelLevel Level(Akka.Event.LogLevel level) => level switch
    {
        Akka.Event.LogLevel.DebugLevel => MelLevel.Debug,
        Akka.Event.LogLevel.InfoLevel => MelLevel.Information,
        Akka.Event.LogLevel.WarningLevel => MelLevel.Warning,
        _ => MelLevel.Error,
    };
}

/// <summary>
/// Akka's logger for a hosted node: each event <see cref="NodeLogFilter"/> keeps goes to the host's
/// ILoggerFactory, in the category of the class that logged it, with its exception (and so its causes).
/// </summary>
public sealed class AkkaLogBridge : ActorBase, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    private readonly ILoggerFactory _factory;
    private readonly NodeLogFilter _filter = new();

    public AkkaLogBridge()
    {
        var setup = Context.System.Settings.Setup.Get<LoggerFactorySetup>();
        _factory = setup.HasValue ? setup.Value.LoggerFactory : NullLoggerFactory.Instance;
    }

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case InitializeLogger:
                Sender.Tell(new LoggerInitialized());
                return true;
            case LogEvent e:
                if (_filter.Line(e) is { } line)
                    _factory.CreateLogger(e.LogClass?.FullName ?? "Akka").Log(NodeLogging.Level(e.LogLevel()), default, $"{e.LogSource}: {line}", e.Cause, static (text, _) => text);
                return true;
            default:
                return false;
        }
    }
}
