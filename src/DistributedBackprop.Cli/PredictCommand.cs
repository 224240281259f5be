using System.CommandLine;
using System.Globalization;
using System.Text;
using DistributedBackprop.Data;
using DistributedBackprop.Nn;
using DistributedBackprop.Training;

namespace DistributedBackprop.Cli;

/// <summary>
/// <c>dbp predict --model CKPT --data new.csv --out predictions.csv</c>: the model's predictions for the rows
/// of a CSV, with nothing but the checkpoint: its feature columns are found by name and standardised as in
/// training. A classifier writes the predicted class and each class's probability; a regression the value.
/// </summary>
public static class PredictCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "a checkpoint (checkpoint.dbp, or its --checkpoint folder)", Required = true };
        var data = new Option<string>("--data") { Description = "a CSV with the model's feature columns (other columns, such as the target, are not read)", Required = true };
        var output = new Option<string>("--out") { Description = "where the predictions go (.csv): one row per input row", Required = true };
        var command = new Command("predict", "Predict with a trained model: CKPT + new.csv -> predictions.csv") { model, data, output };
        command.SetAction(r =>
        {
            var path = r.GetValue(output)!;
            if (!path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)) throw new UsageException($"--out {path}: predictions are written as CSV: the name must end in .csv");
            var trained = TrainedModel.Load(r.GetValue(model)!);
            var (inputs, rows) = Tabular.Unlabelled(trained.Card, r.GetValue(data)!);
            var outputs = new Inference(trained.Objective).Outputs(trained.Parameters, inputs, rows);
            AtomicFile.WriteAllText(path, Write(trained, outputs, rows));
            Console.Out.WriteLine($"wrote {rows} predictions to {path}");
            return 0;
        });
        return command;
    }

    /// <summary>The predictions as CSV text: "target" (the class name, or the value) and, for classes, "p_CLASS" for each class.</summary>
    public static string Write(TrainedModel model, float[] outputs, int rows)
    {
        var card = model.Card;
        var text = new StringBuilder(Quote(card.Target));
        if (card.IsClassification) foreach (var c in card.Classes!) text.Append(',').Append(Quote("p_" + c));
        text.Append('\n');
        int width = outputs.Length / Math.Max(1, rows);
        var p = new double[width];
        for (int i = 0; i < rows; i++)
        {
            var row = outputs.AsSpan(i * width, width);
            if (!card.IsClassification)
            {
                text.Append(row[0].ToString("R", CultureInfo.InvariantCulture)).Append('\n');
                continue;
            }
            Probabilities(row, model.Objective.Loss, p);
            text.Append(Quote(card.Classes![System.Numerics.Tensors.TensorPrimitives.IndexOfMax(row)]));
            foreach (var v in p) text.Append(',').Append(((float)v).ToString("R", CultureInfo.InvariantCulture));
            text.Append('\n');
        }
        return text.ToString();
    }

    /// <summary>Softmax of the logits (cross-entropy), or each output's sigmoid (binary cross-entropy), in double.</summary>
    public static void Probabilities(ReadOnlySpan<float> logits, LossKind loss, Span<double> p)
    {
        if (loss == LossKind.BceWithLogits)
        {
            for (int k = 0; k < logits.Length; k++) p[k] = 1 / (1 + Math.Exp(-logits[k]));
            return;
        }
        double max = double.NegativeInfinity, sum = 0;
        foreach (var v in logits) max = Math.Max(max, v);
        for (int k = 0; k < logits.Length; k++) sum += p[k] = Math.Exp(logits[k] - max);
        for (int k = 0; k < logits.Length; k++) p[k] /= sum;
    }

    internal static string Quote(string s) => s.IndexOfAny([',', '"', '\n', '\r']) < 0 ? s : "\"" + s.Replace("\"", "\"\"") + "\"";
}
