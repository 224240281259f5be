using System.Globalization;
using DistributedBackprop.Data;
using DistributedBackprop.Nn;
using MessagePack;

namespace DistributedBackprop.Training;

/// <summary>A job that cannot be built as described: an unknown task, a model that cannot exist.</summary>
public sealed class JobException(string message) : Exception(message);

/// <summary>
/// What a training job computes with, apart from the optimizer and schedule: the task, the model and where
/// the data comes from. A cluster's worker nodes receive it (the data set's description travels, not the
/// data) and build their own model and data from it, so every field is checked before it is used.
/// <paramref name="Model"/>, where set, is the architecture as <see cref="ModelSpec"/>'s JSON (else an MLP of
/// <paramref name="Hidden"/> widths and <paramref name="Activation"/>); <paramref name="Loss"/> one of
/// <see cref="Objective.LossNames"/> (else the task's own); <paramref name="Csv"/> the CSV file of the csv task.
/// </summary>
[MessagePackObject]
public sealed record TrainingJob(
    [property: Key(0)] string Task,
    [property: Key(1)] int[] Hidden,
    [property: Key(2)] string Activation,
    [property: Key(3)] int Samples,
    [property: Key(4)] int Seed,
    [property: Key(5)] string? DataFolder,
    [property: Key(6)] string? Model = null,
    [property: Key(7)] string? Loss = null,
    [property: Key(8)] double HuberDelta = 1.0,
    [property: Key(9)] CsvSource? Csv = null)
{
    public const string Regression = "regression", Fashion = "fashion-mnist", CsvTask = "csv";

    /// <summary>The objective (model, loss, dropout seed, card). For the csv task it reads the file: prefer <see cref="Prepare"/>.</summary>
    public Objective Objective() => Task switch
    {
        Regression => Build(DataCard.NotebookRegression, Training.LossKind.Mse),
        Fashion => Build(DataCard.FashionMnist, Training.LossKind.CrossEntropy),
        _ => Prepare(loadHeld: false).Objective,
    };

    /// <summary>The training data (and the test or validation data).</summary>
    public (Dataset Train, Dataset? Test) Data() => Prepare() is var p ? (p.Train, p.Held) : default;

    /// <summary>
    /// The model, the loss and the data, each checked: what a run, or a worker node (which needs no held-out
    /// data: <paramref name="loadHeld"/> false), builds from the job.
    /// </summary>
    public PreparedJob Prepare(bool loadHeld = true)
    {
        switch (Task)
        {
            case Regression:
                if (Samples <= 0) throw new JobException($"the regression needs a positive number of samples, not {Samples}");
                var points = NotebookRegression.Create(Samples, Seed);
                return new PreparedJob(Build(DataCard.NotebookRegression, Training.LossKind.Mse), points, null, "", DataCard.NotebookRegression);
            case Fashion:
                var objective = Build(DataCard.FashionMnist, Training.LossKind.CrossEntropy);
                var (train, test) = FashionMnist.Load(DataFolder ?? FashionMnist.DefaultFolder);
                return new PreparedJob(objective, train, loadHeld ? test : null, "test", DataCard.FashionMnist);
            case CsvTask:
                var csv = Csv ?? throw new JobException("the csv task needs its file");
                var data = csv.Load(Seed, loadHeld);
                return new PreparedJob(Build(data.Card, data.Card.IsClassification ? Training.LossKind.CrossEntropy : Training.LossKind.Mse), data.Train, data.Held, data.HeldName, data.Card);
            default:
                throw new JobException($"unknown task '{Task}' ({Regression}, {Fashion} or {CsvTask})");
        }
    }

    private Objective Build(DataCard card, LossKind fallback)
    {
        var loss = LossOf(fallback);
        if (Training.Objective.IsClassification(loss) != card.IsClassification)
            throw new JobException(card.IsClassification
                ? $"the loss {Loss} is for regression; a classification takes cross-entropy or bce-with-logits"
                : $"the loss {Loss} is for classification; a regression takes mse, l1 or huber");
        if (loss == Training.LossKind.Huber && !(HuberDelta > 0 && double.IsFinite(HuberDelta))) throw new JobException($"Huber's delta must be a positive number, not {HuberDelta}");
        try
        {
            return new Objective(Network(card.Features.Count, card.Outputs), loss) { HuberDelta = HuberDelta, Seed = Seed, Card = card };
        }
        catch (ModelSpecException e) { throw new JobException(e.Message); }
    }

    private LossKind LossOf(LossKind fallback)
    {
        if (Loss is null) return fallback;
        foreach (var (name, kind) in Training.Objective.LossNames) if (name == Loss) return kind;
        throw new JobException($"unknown loss '{Loss}' ({string.Join(", ", Training.Objective.LossNames.Select(n => n.Name))})");
    }

    private Sequential Network(int inputs, int outputs)
    {
        if (Model is not null) return ModelSpec.Build(ModelSpec.FromJson(Model, "the model"), inputs, outputs);
        if (Hidden is null || Hidden.Length == 0 || Hidden.Length > ModelSpec.MaxLayers || Hidden.Any(w => w is <= 0 or > ModelSpec.MaxWidth))
            throw new JobException($"the model needs from 1 to {ModelSpec.MaxLayers} hidden layer widths, each from 1 to {ModelSpec.MaxWidth}");
        if (!Sequential.Activations.Contains(Activation))
            throw new JobException($"unknown activation '{Activation}' ({Sequential.ActivationList})");
        return Sequential.Mlp(inputs, Hidden, outputs, Activation);
    }
}

/// <summary>What a job builds: its objective, the training data, the held-out data ("test" or "validation") and the card.</summary>
public sealed record PreparedJob(Objective Objective, Dataset Train, Dataset? Held, string HeldName, DataCard Card);

/// <summary>
/// The csv task's data: the training file by absolute path, which every worker node reads for itself and
/// checks against <paramref name="Sha256"/> before it reads a value of it; the target column, the task
/// (null: decided by the first row), the share held out for validation, and a test file (read on the
/// parameter-server node only).
/// </summary>
[MessagePackObject]
public sealed record CsvSource(
    [property: Key(0)] string Path,
    [property: Key(1)] string Target,
    [property: Key(2)] string? Kind,
    [property: Key(3)] double Validation,
    [property: Key(4)] string? TestPath,
    [property: Key(5)] string Sha256)
{
    public const int MaxPath = 4096, MaxName = 1024;

    /// <summary>Why this description cannot be loaded, or null: checked before the file is opened.</summary>
    public string? Problem()
    {
        if (string.IsNullOrEmpty(Path) || Path.Length > MaxPath || !System.IO.Path.IsPathFullyQualified(Path)) return "the data file must be an absolute path";
        if (!Path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)) return "the data file must end in .csv";
        if (TestPath is not null && (TestPath.Length > MaxPath || !System.IO.Path.IsPathFullyQualified(TestPath))) return "the test file must be an absolute path";
        if (string.IsNullOrEmpty(Target) || Target.Length > MaxName) return "the target column needs a name";
        if (Kind is not (null or DataCard.Regression or DataCard.Classification)) return $"unknown task '{Kind}' (regression or classification)";
        if (!(Validation >= 0 && Validation <= Tabular.MaxValidation)) return $"the validation share must be from 0 to {Tabular.MaxValidation.ToString(CultureInfo.InvariantCulture)}";
        if (Sha256 is not { Length: 64 } || !Sha256.All(char.IsAsciiHexDigitLower)) return "the data file's hash must be 64 lower-case hex digits";
        return null;
    }

    /// <summary>The data: the file is hashed first, and one that is not the job's is refused before it is parsed.</summary>
    public TabularData Load(int seed, bool loadHeld)
    {
        if (Problem() is string problem) throw new JobException(problem);
        var info = new FileInfo(Path);
        if (!info.Exists || (info.Attributes & (FileAttributes.Directory | FileAttributes.Device)) != 0)
            throw new DataException($"{Path}: not found (every node reads the data file at the same path)");
        if (Tabular.Hash(Path) != Sha256) throw new DataException($"{Path}: not the file the job was made from (its SHA-256 differs)");
        return Tabular.Load(Path, Target, Kind, Validation, loadHeld ? TestPath : null, seed, loadHeld);
    }
}
