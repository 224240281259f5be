using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.RegularExpressions;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;

namespace DistributedBackprop.Cli;

/// <summary>
/// The flags every <c>dbp train</c> task shares for the model, the loss, the optimizer's details, its
/// schedule, clipping, the starting weights and the metrics file; <see cref="TrainOptions"/> holds them.
/// </summary>
public sealed class ModelOptions
{
    public static readonly string[] OptimizerNames = ["sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop"];
    public static readonly string[] ScheduleNames = ["constant", "cosine", "step", "warmup-cosine"];

    public readonly Option<string?> Layers = new("--layers") { Description = $"the layers, in order, e.g. linear:128,relu,dropout:0.1,linear ({ModelSpec.TypeList}; a linear without a width gives the task's outputs). Replaces --hidden and --activation" };
    public readonly Option<string?> Model = new("--model") { Description = "the layers from a JSON file: {\"layers\": [{\"type\": \"Linear\", \"out_features\": 128}, {\"type\": \"ReLU\"}, ...]} (PyTorch's names and arguments)" };
    public readonly Option<string?> Loss = new("--loss") { Description = "mse, l1 or huber for regression; cross-entropy or bce-with-logits for classification (default: mse, cross-entropy)" };
    public readonly Option<double> HuberDelta = new("--huber-delta") { Description = "Huber's delta", DefaultValueFactory = _ => 1.0 };
    public readonly Option<double> ClipGradNorm = new("--clip-grad-norm") { Description = "clip the gradient to this global L2 norm before each step (torch.nn.utils.clip_grad_norm_); 0: no clipping", DefaultValueFactory = _ => 0.0 };
    public readonly Option<long?> StepSize = new("--lr-step-size") { Description = "for --lr-schedule step: multiply the rate by --lr-gamma every this many steps (StepLR)" };
    public readonly Option<double> Gamma = new("--lr-gamma") { Description = "for --lr-schedule step: the factor", DefaultValueFactory = _ => 0.1 };
    public readonly Option<long?> Warmup = new("--warmup-steps") { Description = "for --lr-schedule warmup-cosine: steps of linear warm-up before the cosine" };
    public readonly Option<string> Betas = new("--betas") { Description = "Adam's and AdamW's (beta1, beta2)", DefaultValueFactory = _ => "0.9,0.999" };
    public readonly Option<double> Eps = new("--eps") { Description = "Adam's, AdamW's and RMSprop's epsilon", DefaultValueFactory = _ => 1e-8 };
    public readonly Option<double> Alpha = new("--alpha") { Description = "RMSprop's smoothing constant", DefaultValueFactory = _ => 0.99 };
    public readonly Option<string?> Init = new("--init") { Description = "start from these weights (a .safetensors file, e.g. a PyTorch state_dict saved with safetensors; names and shapes as the model's)" };
    public readonly Option<string?> Metrics = new("--metrics") { Description = "write a row per step to this .csv or .jsonl file (step, epoch, loss; held-out loss and accuracy, and training accuracy, at the end of each epoch)" };

    public ModelOptions()
    {
        Loss.AcceptOnlyFromAmong([.. Objective.LossNames.Select(n => n.Name)]);
    }

    public Option[] All => [Layers, Model, Loss, HuberDelta, ClipGradNorm, StepSize, Gamma, Warmup, Betas, Eps, Alpha, Init, Metrics];

    /// <summary>
    /// The job with the model and loss the flags ask for: <c>--layers</c> or <c>--model</c> (either, and not
    /// with an explicit --hidden or --activation), <c>--loss</c> and <c>--huber-delta</c>.
    /// </summary>
    public TrainingJob Apply(ParseResult r, TrainingJob job)
    {
        var (layers, file) = (r.GetValue(Layers), r.GetValue(Model));
        if (layers is not null && file is not null) throw new UsageException("--layers and --model both give the layers: use one");
        if (layers is not null || file is not null)
        {
            var given = layers is not null ? "--layers" : "--model";
            foreach (var name in new[] { "--hidden", "--activation" })
                if (r.CommandResult.Command.Options.FirstOrDefault(o => o.Name == name) is { } o && r.GetResult(o) is { Implicit: false })
                    throw new UsageException($"{given} gives the layers, so {name} does not apply");
            IReadOnlyList<LayerSpec> specs;
            try { specs = layers is not null ? ModelSpec.Parse(layers) : ModelSpec.FromJson(ReadModel(file!), file!); }
            catch (ModelSpecException e) { throw new UsageException($"{given}: {e.Message}"); }
            job = job with { Model = ModelSpec.ToJson(specs) };
        }
        double delta = r.GetValue(HuberDelta);
        TrainOptions.Positive("--huber-delta", delta);
        return job with { Loss = r.GetValue(Loss), HuberDelta = delta };
    }

    /// <summary>--metrics, checked: null, or a .csv or .jsonl path.</summary>
    public string? MetricsPath(ParseResult r) => Curves.CheckMetrics(r.GetValue(Metrics));

    private static string ReadModel(string path)
    {
        try { return File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new UsageException($"--model {path}: cannot read ({e.Message})"); }
    }

    /// <summary>
    /// The optimizer: its kind and learning rate, momentum and weight decay from <paramref name="common"/>'s
    /// flags (PyTorch's defaults where a flag is not given: no momentum for RMSprop, weight decay 0.01 for
    /// AdamW), betas, eps and alpha, the schedule over <paramref name="steps"/> and clipping.
    /// </summary>
    public Optimizer Optimizer(ParseResult r, TrainOptions common, double lr, long steps)
    {
        TrainOptions.Positive("--lr", lr);
        string kind = r.GetValue(common.Optimizer)!;
        double momentum = r.GetValue(common.Momentum), decay = r.GetValue(common.WeightDecay);
        bool momentumGiven = r.GetResult(common.Momentum) is { Implicit: false }, decayGiven = r.GetResult(common.WeightDecay) is { Implicit: false };
        var betas = Betas2(r.GetValue(Betas)!);
        double eps = r.GetValue(Eps), alpha = r.GetValue(Alpha);
        TrainOptions.Positive("--eps", eps);
        if (!(alpha > 0 && alpha < 1)) throw new UsageException($"--alpha must be in (0, 1), not {Text(alpha)}");
        Optimizer optimizer = kind switch
        {
            "adam" => new Adam(lr, betas.Beta1, betas.Beta2, eps, Checked(decay)),
            "adamw" => new AdamW(lr, betas.Beta1, betas.Beta2, eps, decayGiven ? Checked(decay) : 0.01),
            "rmsprop" => new RMSprop(lr, alpha, eps, Checked(decay), momentumGiven ? Momentum(momentum) : 0),
            _ => TrainOptions.MakeOptimizer(kind, lr, momentum, decay),
        };
        double clip = r.GetValue(ClipGradNorm);
        if (!(clip >= 0 && double.IsFinite(clip))) throw new UsageException($"--clip-grad-norm must be 0 or more, not {Text(clip)}");
        return optimizer with { Schedule = Schedule(r, common, steps), MaxGradNorm = clip };
    }

    private Schedule? Schedule(ParseResult r, TrainOptions common, long steps)
    {
        string schedule = r.GetValue(common.Schedule)!;
        if (schedule != "step" && r.GetResult(StepSize) is { Implicit: false }) throw new UsageException("--lr-step-size goes with --lr-schedule step");
        if (schedule != "warmup-cosine" && r.GetResult(Warmup) is { Implicit: false }) throw new UsageException("--warmup-steps goes with --lr-schedule warmup-cosine");
        switch (schedule)
        {
            case "constant": return null;
            case "cosine": return new Schedule.Cosine(steps);
            case "step":
                long size = r.GetValue(StepSize) ?? throw new UsageException("--lr-schedule step needs --lr-step-size N (steps between decays)");
                TrainOptions.Positive("--lr-step-size", size);
                double gamma = r.GetValue(Gamma);
                TrainOptions.Positive("--lr-gamma", gamma);
                return new Schedule.StepDecay(size, gamma);
            case "warmup-cosine":
                long warmup = r.GetValue(Warmup) ?? throw new UsageException("--lr-schedule warmup-cosine needs --warmup-steps N");
                if (warmup < 0 || warmup >= steps) throw new UsageException($"--warmup-steps must be from 0 to {steps - 1} (the run has {steps} steps), not {warmup}");
                return new Schedule.WarmupCosine(warmup, steps);
            default:
                throw new System.Diagnostics.UnreachableException();
        }
    }

    private static double Checked(double weightDecay) =>
        double.IsFinite(weightDecay) && weightDecay >= 0 ? weightDecay : throw new UsageException($"--weight-decay must be 0 or more, not {Text(weightDecay)}");

    private static double Momentum(double m) =>
        double.IsFinite(m) && m >= 0 && m < 1 ? m : throw new UsageException($"--momentum must be in [0, 1), not {Text(m)}");

    private static (double Beta1, double Beta2) Betas2(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length == 2 && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var b1) &&
            double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var b2) && b1 is >= 0 and < 1 && b2 is >= 0 and < 1)
            return (b1, b2);
        throw new UsageException($"--betas: '{text}' is not two numbers in [0, 1), e.g. --betas 0.9,0.999");
    }

    private static string Text(double v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// A parse error as one line, naming the option it is about: System.CommandLine lists a choice's values
    /// on lines of their own ("Must be one of:\n\t'sgd'\n\t'adam'").
    /// </summary>
    public static string OneLine(ParseError error)
    {
        var message = Regex.Replace(Regex.Replace(error.Message.Trim(), @":\s*\r?\n\s*", ": "), @"\s*\r?\n\s*", ", ");
        return error.SymbolResult is OptionResult o && !message.Contains(o.Option.Name) ? $"{o.Option.Name}: {message}" : message;
    }
}
