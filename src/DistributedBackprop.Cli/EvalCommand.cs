using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using DistributedBackprop.Data;
using DistributedBackprop.Training;

namespace DistributedBackprop.Cli;

/// <summary>
/// <c>dbp eval --model CKPT --data labelled.csv</c>: how good a trained model is on labelled rows. A
/// classifier: accuracy, each class's precision and recall, and the confusion matrix (rows: the true class,
/// columns: the predicted one). A regression: MSE, MAE and R².
/// </summary>
public static class EvalCommand
{
    public sealed record ClassScores(string Class, int Support, double Precision, double Recall);
    public sealed record Classification(int Rows, double Accuracy, ClassScores[] Classes, int[][] Confusion);
    public sealed record Regression(int Rows, double Mse, double Mae, double R2);

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "a checkpoint (checkpoint.dbp, or its --checkpoint folder)", Required = true };
        var data = new Option<string>("--data") { Description = "a CSV with the model's feature columns and its target column", Required = true };
        var json = new Option<bool>("--json") { Description = "one machine-readable line" };
        var command = new Command("eval", "Evaluate a trained model on labelled rows: accuracy, precision, recall and confusion matrix; or MSE, MAE and R²") { model, data, json };
        command.SetAction(r =>
        {
            var trained = TrainedModel.Load(r.GetValue(model)!);
            var set = Tabular.Labelled(trained.Card, r.GetValue(data)!);
            var outputs = new Inference(trained.Objective).Outputs(trained.Parameters, set.Inputs.Data, set.Count);
            if (trained.Card.IsClassification) Print(Classify(trained.Card, set, outputs), r.GetValue(json));
            else Print(Score(set, outputs), r.GetValue(json));
            return 0;
        });
        return command;
    }

    public static Classification Classify(DataCard card, Dataset set, float[] outputs)
    {
        int k = card.Classes!.Count;
        var confusion = Enumerable.Range(0, k).Select(_ => new int[k]).ToArray();
        for (int i = 0; i < set.Count; i++)
            confusion[set.Labels![i]][System.Numerics.Tensors.TensorPrimitives.IndexOfMax(outputs.AsSpan(i * k, k))]++;
        int correct = Enumerable.Range(0, k).Sum(c => confusion[c][c]);
        var scores = Enumerable.Range(0, k).Select(c =>
        {
            int predicted = confusion.Sum(row => row[c]), actual = confusion[c].Sum();
            return new ClassScores(card.Classes[c], actual, predicted == 0 ? 0 : (double)confusion[c][c] / predicted, actual == 0 ? 0 : (double)confusion[c][c] / actual);
        }).ToArray();
        return new Classification(set.Count, (double)correct / set.Count, scores, confusion);
    }

    public static Regression Score(Dataset set, float[] outputs)
    {
        var y = set.Targets.Data;
        double mean = 0, se = 0, ae = 0, ss = 0;
        for (int i = 0; i < set.Count; i++) mean += y[i];
        mean /= set.Count;
        for (int i = 0; i < set.Count; i++)
        {
            double d = outputs[i] - (double)y[i];
            se += d * d;
            ae += Math.Abs(d);
            ss += (y[i] - mean) * (y[i] - mean);
        }
        return new Regression(set.Count, se / set.Count, ae / set.Count, ss == 0 ? double.NaN : 1 - se / ss);
    }

    private static void Print(Classification c, bool json)
    {
        if (json)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["rows"] = c.Rows, ["accuracy"] = Math.Round(c.Accuracy, 6),
                ["classes"] = c.Classes.Select(s => new Dictionary<string, object> { ["class"] = s.Class, ["support"] = s.Support, ["precision"] = Math.Round(s.Precision, 6), ["recall"] = Math.Round(s.Recall, 6) }),
                ["confusion"] = c.Confusion,
            }));
            return;
        }
        var o = Console.Out;
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"accuracy {c.Accuracy:P2} ({c.Rows} rows)"));
        o.WriteLine();
        int w = Math.Max(8, c.Classes.Max(s => s.Class.Length) + 2);
        o.WriteLine("class".PadRight(w) + "precision".PadLeft(11) + "recall".PadLeft(9) + "support".PadLeft(9));
        foreach (var s in c.Classes)
            o.WriteLine(s.Class.PadRight(w) + s.Precision.ToString("F4", CultureInfo.InvariantCulture).PadLeft(11) + s.Recall.ToString("F4", CultureInfo.InvariantCulture).PadLeft(9) + s.Support.ToString(CultureInfo.InvariantCulture).PadLeft(9));
        o.WriteLine();
        o.WriteLine("confusion (rows: true class, columns: predicted)");
        int cw = Math.Max(6, Math.Max(c.Classes.Max(s => s.Class.Length), c.Confusion.SelectMany(r => r).Max().ToString(CultureInfo.InvariantCulture).Length) + 2);
        o.WriteLine("".PadRight(w) + string.Concat(c.Classes.Select(s => s.Class.PadLeft(cw))));
        for (int i = 0; i < c.Classes.Length; i++)
            o.WriteLine(c.Classes[i].Class.PadRight(w) + string.Concat(c.Confusion[i].Select(n => n.ToString(CultureInfo.InvariantCulture).PadLeft(cw))));
    }

    private static void Print(Regression s, bool json)
    {
        if (json)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["rows"] = s.Rows, ["mse"] = s.Mse, ["mae"] = s.Mae, ["r2"] = double.IsFinite(s.R2) ? s.R2 : null,
            }));
            return;
        }
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"MSE {s.Mse:G6}, MAE {s.Mae:G6}, R² {s.R2:F4} ({s.Rows} rows)"));
    }
}
