using System.CommandLine;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;

namespace DistributedBackprop.Cli;

/// <summary>
/// <c>dbp export --model CKPT --format safetensors|onnx --out FILE</c>: the weights for PyTorch (safetensors,
/// with the model card as its metadata) or the whole model, standardisation included, for ONNX runtimes.
/// </summary>
public static class ExportCommand
{
    public static readonly string[] Formats = ["safetensors", "onnx"];

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "a checkpoint (checkpoint.dbp, or its --checkpoint folder)", Required = true };
        var format = new Option<string?>("--format") { Description = "safetensors (PyTorch's state_dict names, the model card in __metadata__) or onnx (opset 17, takes raw features); default: from --out's extension" };
        format.AcceptOnlyFromAmong(Formats);
        var output = new Option<string>("--out") { Description = "the file to write", Required = true };
        var command = new Command("export", "Export a trained model: weights as safetensors (for PyTorch), or the model as ONNX") { model, format, output };
        command.SetAction(r =>
        {
            var path = r.GetValue(output)!;
            var kind = r.GetValue(format) ?? Path.GetExtension(path).TrimStart('.').ToLowerInvariant() switch
            {
                "safetensors" => "safetensors",
                "onnx" => "onnx",
                _ => throw new UsageException($"--out {path}: say --format safetensors or onnx (or end the name in .safetensors or .onnx)"),
            };
            var trained = TrainedModel.Load(r.GetValue(model)!);
            AtomicFile.WriteAllBytes(path, kind == "onnx" ? ToOnnx(trained) : ToSafetensors(trained));
            Console.Out.WriteLine($"wrote {path} ({kind}, {trained.Parameters.Sum(p => p.Value.Length)} weights)");
            return 0;
        });
        return command;
    }

    /// <summary>The weights by PyTorch's names, and in "__metadata__" the card: model, loss, task, target, features, classes.</summary>
    public static byte[] ToSafetensors(TrainedModel m)
    {
        var meta = CheckpointPolicy.Card(m.Objective);
        meta["format"] = "pt";
        return Safetensors.ToBytes(m.Parameters, meta);
    }

    public static byte[] ToOnnx(TrainedModel m) => Onnx.ToBytes(m.Objective.Model, m.Parameters, m.Card.Mean, m.Card.Std,
        !m.Card.IsClassification ? Onnx.Probabilities.None : m.Objective.Loss == LossKind.BceWithLogits ? Onnx.Probabilities.Sigmoid : Onnx.Probabilities.Softmax);
}
