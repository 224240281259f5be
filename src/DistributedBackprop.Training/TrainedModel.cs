using DistributedBackprop.Data;
using DistributedBackprop.Nn;

namespace DistributedBackprop.Training;

/// <summary>
/// A trained model from its checkpoint alone: the architecture, loss and card from the checkpoint's
/// metadata (written by <see cref="CheckpointPolicy"/>), the weights checked against the architecture. What
/// <c>dbp predict</c>, <c>dbp eval</c> and <c>dbp export</c> read.
/// </summary>
public sealed record TrainedModel(Objective Objective, Parameters<float> Parameters, DataCard Card, string Source)
{
    /// <summary>A checkpoint file, or a folder holding checkpoint.dbp.</summary>
    public static TrainedModel Load(string path)
    {
        var file = Directory.Exists(path) ? new CheckpointPolicy(path, 1).File : path;
        if (!File.Exists(file)) throw new CheckpointException($"{file}: not found (give a checkpoint file, or the folder of --checkpoint)");
        var checkpoint = Checkpoint.Load(file);
        var card = DataCard.FromMeta(checkpoint.Meta, file);
        if (card is null || !checkpoint.Meta.TryGetValue("model", out var json))
            throw new CheckpointException($"{file}: this checkpoint does not say what its model is (written by an older dbp): train again to use it alone");
        var loss = Objective.LossNames.FirstOrDefault(n => n.Name == checkpoint.MetaOr("loss", "")) is var (name, kind) && name is not null
            ? kind : throw new CheckpointException($"{file}: unknown loss '{checkpoint.MetaOr("loss", "")}'");
        Sequential model;
        try { model = ModelSpec.Build(ModelSpec.FromJson(json, file), card.Features.Count, card.Outputs); }
        catch (ModelSpecException e) { throw new CheckpointException($"{file}: {e.Message}"); }
        if (Objective.IsClassification(loss) != card.IsClassification) throw new CheckpointException($"{file}: the loss does not fit the task");
        var expected = model.Parameters.Select(p => (p.Name, string.Join(",", p.Shape)));
        var found = checkpoint.Parameters.Select(p => (p.Name, string.Join(",", p.Value.Shape.ToArray())));
        if (!expected.SequenceEqual(found)) throw new CheckpointException($"{file}: its weights do not fit its model");
        return new TrainedModel(new Objective(model, loss) { Card = card }, checkpoint.Parameters, card, file);
    }
}
