using System.CommandLine;

namespace DistributedBackprop.Cli;

/// <summary>
/// What help shows beyond the descriptions: what to type for each value (<c>--hidden &lt;W1,W2&gt;</c>, not the
/// option's own name again), and an example or two under each command. One table for every command.
/// </summary>
public static class HelpText
{
    private static readonly Dictionary<string, string> Values = new()
    {
        ["--hidden"] = "W1,W2", ["--samples"] = "N", ["--steps"] = "N", ["--log-every"] = "N", ["--epochs"] = "N", ["--batch"] = "N",
        ["--workers"] = "N", ["--threads"] = "N", ["--micro-shard"] = "N", ["--seed"] = "N", ["--checkpoint-every"] = "N", ["--rounds"] = "N",
        ["--lr"] = "RATE", ["--momentum"] = "M", ["--weight-decay"] = "L2", ["--huber-delta"] = "DELTA", ["--clip-grad-norm"] = "NORM",
        ["--lr-step-size"] = "N", ["--lr-gamma"] = "FACTOR", ["--warmup-steps"] = "N", ["--betas"] = "B1,B2", ["--eps"] = "EPS", ["--alpha"] = "ALPHA",
        ["--plot"] = "FILE.png", ["--checkpoint"] = "DIR", ["--init"] = "FILE.safetensors", ["--metrics"] = "FILE.csv|FILE.jsonl",
        ["--layers"] = "LAYER,LAYER,...", ["--model"] = "FILE", ["--data"] = "PATH", ["--target"] = "COLUMN", ["--test"] = "FILE.csv",
        ["--validation"] = "FRACTION", ["--out"] = "PATH", ["--at"] = "x=2,y=4", ["--order"] = "1|2", ["--port"] = "PORT", ["--hostname"] = "HOST",
        ["--seed-nodes"] = "akka.ssl.tcp://dbp@HOST:PORT,...", ["--min-workers"] = "N", ["--join-timeout"] = "SECONDS", ["--tls-cert"] = "FILE.pfx",
        ["--tls-password-file"] = "FILE", ["--password-file"] = "FILE", ["--days"] = "N", ["--peers"] = "DIR", ["--python"] = "PATH",
        ["--management-port"] = "PORT", ["--discovery-selector"] = "KEY=VALUE,...", ["--contact-points"] = "N",
    };

    private static readonly Dictionary<string, string[]> Examples = new()
    {
        ["demo"] = ["dbp demo", "dbp demo regression --out pictures"],
        ["grad"] = ["dbp grad \"z1 = exp(-y); z2 = 1 + x^2 + y^2; z4 = 6*z1/z2 + 2*x^3\" --at x=2,y=4", "dbp grad \"sum(x^2)\" --at \"x=[1,2,3]\" --json"],
        ["gradcheck"] = ["dbp gradcheck \"x^3 + sin(y)\" --at x=2,y=4"],
        ["graph"] = ["dbp graph \"z = exp(-x) * y\" --at x=1,y=2 --out z.svg"],
        ["regression"] = ["dbp train regression", "dbp train regression --hidden 16,16 --optimizer adam --lr 0.01 --json --plot fit.png"],
        ["fashion-mnist"] = ["dbp train fashion-mnist --epochs 3", "dbp train fashion-mnist --batch 256 --workers 2 --checkpoint runs/fm --json"],
        ["csv"] = ["dbp train csv --data train.csv --target label --validation 0.1 --layers linear:64,relu,linear --plot curves.png"],
        ["node"] = ["dbp node --tls-cert cluster.pfx --role parameter-server --min-workers 2 -- train regression --json",
                    "dbp node --tls-cert cluster.pfx --role worker --seed-nodes akka.ssl.tcp://dbp@127.0.0.1:4053"],
        ["cert"] = ["dbp cert --out cluster.pfx"],
        ["bench"] = ["dbp bench --rounds 3 --distributed"],
    };

    /// <summary>Sets value names and examples on <paramref name="command"/> and everything under it.</summary>
    public static T Apply<T>(T command) where T : Command
    {
        foreach (var option in command.Options)
            if (option.HelpName is null && Values.TryGetValue(option.Name, out var value)) option.HelpName = value;
        if (Examples.TryGetValue(command.Name, out var examples))
            command.Description += "\n\nExamples:\n" + string.Join("\n", examples.Select(e => "  " + e));
        foreach (var sub in command.Subcommands) Apply(sub);
        return command;
    }
}
