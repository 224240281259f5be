using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using DistributedBackprop.Data;
using DistributedBackprop.Nn;

namespace DistributedBackprop.Training;

/// <summary>
/// Where and how often a run writes its checkpoint (one file, replaced atomically), and how it resumes.
/// A checkpoint records the settings' fingerprint: resuming under other settings would silently compute
/// something else, so it is refused.
/// </summary>
public sealed record CheckpointPolicy(string Folder, long Every)
{
    public string File => Path.Combine(Folder, "checkpoint.dbp");

    /// <summary>Everything that decides the numbers except the number of steps (a resumed run may go further).</summary>
    public static string Fingerprint(TrainingSettings s)
    {
        var text = $"{s.Objective.Model}|{s.Objective.LossText}|{s.Optimizer}|{s.Batches}|{s.MicroShard}|{s.Seed}";
        // Dropout's masks come from the objective's seed: a model with masks names it (others keep their old fingerprint).
        if (s.Objective.Model.Layers.Any(l => l is Dropout { NeedsMask: true })) text += $"|dropout seed {s.Objective.Seed}";
        // A CSV's data decide the numbers too: its card (columns, scaling, classes) stands for them.
        if (s.Objective.Card is { } card && !ReferenceEquals(card, DataCard.NotebookRegression) && !ReferenceEquals(card, DataCard.FashionMnist))
            text += "|" + string.Join(";", card.ToMeta().OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Value));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }

    public bool Due(long nextStep, long until) => nextStep % Every == 0 || nextStep == until;

    /// <summary>
    /// What a checkpoint carries besides parameters and optimizer state: where to resume, under which
    /// settings, and the model card — the architecture (<see cref="ModelSpec"/>'s JSON under "model"), the
    /// loss, and what the inputs and outputs are (<see cref="DataCard.ToMeta"/>) — so that the checkpoint
    /// alone is enough to predict, evaluate and export.
    /// </summary>
    public static Dictionary<string, string> Meta(TrainingSettings settings, long nextStep)
    {
        var meta = Card(settings.Objective);
        meta["next_step"] = nextStep.ToString(CultureInfo.InvariantCulture);
        meta["settings"] = Fingerprint(settings);
        return meta;
    }

    /// <summary>The model card: "model" (<see cref="ModelSpec"/>'s JSON), "loss", and the data card's entries where there is one.</summary>
    public static Dictionary<string, string> Card(Objective objective)
    {
        var meta = new Dictionary<string, string>
        {
            ["model"] = ModelSpec.ToJson(objective.Model),
            ["loss"] = Objective.NameOf(objective.Loss),
        };
        if (objective.Card is { } card) foreach (var (k, v) in card.ToMeta()) meta[k] = v;
        return meta;
    }

    /// <summary>The one checkpoint writer: the single-process loop's and the parameter server's.</summary>
    public void Save(TrainingSettings settings, TrainingState state) =>
        new Checkpoint(state.Parameters, state.Optimizer, Meta(settings, state.Step)).Save(File);

    /// <summary>The saved state, or null when there is no checkpoint yet.</summary>
    public TrainingState? Load(TrainingSettings settings)
    {
        if (!System.IO.File.Exists(File)) return null;
        var c = Checkpoint.Load(File);
        if (c.MetaOr("settings", "") != Fingerprint(settings))
            throw new CheckpointException($"{File}: written by a run with other settings (model, optimizer, data, seed or micro-shard); resume with the same flags");
        var expected = settings.Objective.Model.Parameters.Select(p => (p.Name, string.Join(",", p.Shape)));
        var found = c.Parameters.Select(p => (p.Name, string.Join(",", p.Value.Shape.ToArray())));
        if (!expected.SequenceEqual(found)) throw new CheckpointException($"{File}: its parameters do not fit this model");
        return new TrainingState(c.Parameters, c.Optimizer, c.MetaLong("next_step"));
    }
}
