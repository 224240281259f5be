using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace DistributedBackprop.Nn;

/// <summary>An architecture that cannot be built as written: one line saying which layer and why.</summary>
public sealed class ModelSpecException(string message) : Exception(message);

/// <summary>
/// One layer of an architecture as a user writes it: PyTorch's class name and the arguments that are not
/// inferred (a linear layer's <c>in_features</c> and a layer norm's shape follow from the layer before).
/// <paramref name="Width"/> is a linear layer's <c>out_features</c> (null: the task's output width);
/// <paramref name="Value"/> is dropout's p, leaky ReLU's negative slope, layer norm's eps, or a linear layer's
/// in_features where the JSON form gives it (checked, never needed). For a layer norm, <paramref name="Width"/>
/// is its normalized_shape where given.
/// </summary>
public sealed record LayerSpec(string Type, int? Width = null, double? Value = null);

/// <summary>
/// Architectures as text and JSON, and the <see cref="Sequential"/> they build. The text is a comma list a
/// user can guess — <c>linear:128,relu,dropout:0.1,linear</c> — and the JSON is PyTorch's constructors
/// written out, <c>{"layers": [{"type": "Linear", "in_features": 4, "out_features": 128}, {"type": "ReLU"}, ...]}</c>,
/// so that <c>nn.Sequential(*[getattr(nn, l.pop("type"))(**l) for l in spec["layers"]])</c> rebuilds the
/// model in Python and its state_dict keys ("0.weight", ...) are the checkpoint's names. Layers are named
/// "0", "1", ... as an unnamed <c>nn.Sequential</c> names them. A model description may come from another
/// node, so every number is checked against bounds before anything is allocated.
/// </summary>
public static class ModelSpec
{
    public const int MaxLayers = 256, MaxWidth = 1 << 16, MaxTextLength = 1 << 16;
    public const long MaxParameters = 1L << 27; // 512 MB of float32 weights

    /// <summary>The layer types by PyTorch's class names, and the names the text form accepts for each.</summary>
    private static readonly (string Type, string[] Aliases)[] Types =
    [
        ("Linear", ["linear", "dense", "fc"]),
        ("ReLU", ["relu"]),
        ("LeakyReLU", ["leakyrelu"]),
        ("GELU", ["gelu"]),
        ("Tanh", ["tanh"]),
        ("Sigmoid", ["sigmoid"]),
        ("Dropout", ["dropout"]),
        ("LayerNorm", ["layernorm"]),
    ];

    /// <summary>"linear, relu, leaky-relu, gelu, tanh, sigmoid, dropout, layer-norm": for help texts and errors.</summary>
    public const string TypeList = "linear[:out], relu, leaky-relu[:slope], gelu, tanh, sigmoid, dropout[:p], layer-norm[:eps]";

    private static string? TypeOf(string name)
    {
        var key = name.Replace("-", "").Replace("_", "").ToLowerInvariant();
        foreach (var (type, aliases) in Types) if (aliases.Contains(key)) return type;
        return null;
    }

    /// <summary>The text form: <c>linear:128,relu,dropout:0.1,linear</c>.</summary>
    public static IReadOnlyList<LayerSpec> Parse(string text)
    {
        if (text.Length > MaxTextLength) throw new ModelSpecException($"the layer list is over {MaxTextLength} characters");
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length > MaxLayers) throw new ModelSpecException($"{parts.Length} layers; at most {MaxLayers}");
        var layers = new List<LayerSpec>();
        foreach (var part in parts)
        {
            var (name, argument) = part.IndexOf(':') is var colon and >= 0 ? (part[..colon].Trim(), part[(colon + 1)..].Trim()) : (part, null);
            var type = TypeOf(name) ?? throw new ModelSpecException($"'{part}' is not a layer ({TypeList})");
            layers.Add(argument is null ? new LayerSpec(type) : WithArgument(type, argument, part));
        }
        return layers;
    }

    private static LayerSpec WithArgument(string type, string argument, string part)
    {
        if (type == "Linear")
            return int.TryParse(argument, NumberStyles.None, CultureInfo.InvariantCulture, out var w)
                ? new LayerSpec(type, Width: w)
                : throw new ModelSpecException($"'{part}': a linear layer's width must be a positive whole number");
        if (type is "Dropout" or "LeakyReLU" or "LayerNorm")
            return double.TryParse(argument, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
                ? new LayerSpec(type, Value: v)
                : throw new ModelSpecException($"'{part}': '{argument}' is not a number");
        throw new ModelSpecException($"'{part}': {type} takes no argument");
    }

    /// <summary>The JSON form (a file of <c>--model</c>, or a checkpoint's "model" entry); <c>in_features</c> and <c>normalized_shape</c> may be left out.</summary>
    public static IReadOnlyList<LayerSpec> FromJson(string json, string source)
    {
        if (json.Length > MaxTextLength * 16) throw new ModelSpecException($"{source}: over {MaxTextLength * 16} characters");
        JsonNode? root;
        try { root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { MaxDepth = 8 }); }
        catch (JsonException e) { throw new ModelSpecException($"{source}: not JSON ({e.Message})"); }
        var list = (root is JsonObject o ? o["layers"] : root) as JsonArray
            ?? throw new ModelSpecException($"{source}: expected {{\"layers\": [{{\"type\": \"Linear\", \"out_features\": 64}}, {{\"type\": \"ReLU\"}}, ...]}}");
        if (list.Count > MaxLayers) throw new ModelSpecException($"{source}: {list.Count} layers; at most {MaxLayers}");
        var layers = new List<LayerSpec>();
        for (int i = 0; i < list.Count; i++)
        {
            var where = $"{source}: layer {i}";
            if (list[i] is not JsonObject layer) throw new ModelSpecException($"{where}: expected an object such as {{\"type\": \"ReLU\"}}");
            var name = Text(layer, "type", where) ?? throw new ModelSpecException($"{where}: no \"type\"");
            var type = TypeOf(name) ?? throw new ModelSpecException($"{where}: unknown type '{name}' ({string.Join(", ", Types.Select(t => t.Type))})");
            string[] allowed = type switch
            {
                "Linear" => ["type", "in_features", "out_features", "bias"],
                "Dropout" => ["type", "p", "inplace"],
                "LeakyReLU" => ["type", "negative_slope", "inplace"],
                "LayerNorm" => ["type", "normalized_shape", "eps", "elementwise_affine"],
                "GELU" => ["type", "approximate"],
                _ => ["type", "inplace"],
            };
            if (layer.Select(kv => kv.Key).FirstOrDefault(k => !allowed.Contains(k)) is string extra)
                throw new ModelSpecException($"{where}: {type} has no argument \"{extra}\" ({string.Join(", ", allowed.Skip(1))})");
            if (layer["bias"] is JsonNode bias && bias.GetValueKind() != JsonValueKind.True) throw new ModelSpecException($"{where}: only bias=true is supported");
            if (layer["elementwise_affine"] is JsonNode affine && affine.GetValueKind() != JsonValueKind.True) throw new ModelSpecException($"{where}: only elementwise_affine=true is supported");
            if (Text(layer, "approximate", where) is string approximate && approximate != "none") throw new ModelSpecException($"{where}: only approximate='none' is supported");
            layers.Add(type switch
            {
                "Linear" => new LayerSpec(type, Width: Integer(layer, "out_features", where), Value: Integer(layer, "in_features", where)),
                "Dropout" => new LayerSpec(type, Value: Number(layer, "p", where)),
                "LeakyReLU" => new LayerSpec(type, Value: Number(layer, "negative_slope", where)),
                "LayerNorm" => new LayerSpec(type, Width: Shape(layer, where), Value: Number(layer, "eps", where)),
                _ => new LayerSpec(type),
            });
        }
        return layers;
    }

    private static string? Text(JsonObject o, string key, string where) => o[key] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => throw new ModelSpecException($"{where}: \"{key}\" must be a string"),
    };

    private static double? Number(JsonObject o, string key, string where) => o[key] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.GetValue<double>(),
        _ => throw new ModelSpecException($"{where}: \"{key}\" must be a number"),
    };

    private static int? Integer(JsonObject o, string key, string where) => Number(o, key, where) switch
    {
        null => null,
        double d when d == Math.Floor(d) && d is >= 1 and <= MaxWidth => (int)d,
        var d => throw new ModelSpecException($"{where}: \"{key}\" must be a whole number from 1 to {MaxWidth}, not {d}"),
    };

    private static int? Shape(JsonObject o, string where) => o["normalized_shape"] switch
    {
        null => null,
        JsonArray { Count: 1 } a => Integer(new JsonObject { ["n"] = a[0]?.DeepClone() }, "n", where + " normalized_shape"),
        JsonValue => Integer(o, "normalized_shape", where),
        _ => throw new ModelSpecException($"{where}: \"normalized_shape\" must be one width, such as [64]"),
    };

    /// <summary>
    /// The model: each linear layer takes the width before it; one without a width gives the task's
    /// <paramref name="outputs"/>; the last layer's width must be <paramref name="outputs"/>. A linear layer's
    /// in_features (<see cref="LayerSpec.Value"/>, from JSON) and a layer norm's shape (<see cref="LayerSpec.Width"/>),
    /// where given, must agree with what comes before.
    /// </summary>
    public static Sequential Build(IReadOnlyList<LayerSpec> specs, int inputs, int outputs)
    {
        if (specs.Count == 0) throw new ModelSpecException("the model has no layers");
        if (specs.Count > MaxLayers) throw new ModelSpecException($"{specs.Count} layers; at most {MaxLayers}");
        if (inputs is < 1 or > MaxWidth || outputs is < 1 or > MaxWidth) throw new ModelSpecException($"inputs and outputs must be from 1 to {MaxWidth}, not {inputs} and {outputs}");
        var layers = new List<Layer>();
        int width = inputs;
        long parameters = 0;
        for (int i = 0; i < specs.Count; i++)
        {
            var s = specs[i];
            string name = i.ToString(CultureInfo.InvariantCulture), at = $"layer {i} ({s.Type})";
            switch (s.Type)
            {
                case "Linear":
                    int out_ = s.Width ?? outputs;
                    if (out_ is < 1 or > MaxWidth) throw new ModelSpecException($"{at}: out_features must be from 1 to {MaxWidth}, not {out_}");
                    if (s.Value is double inF && inF != width) throw new ModelSpecException($"{at}: in_features is {inF}, but the layer before gives {width}");
                    parameters += (long)width * out_ + out_;
                    layers.Add(new Linear(name, width, out_));
                    width = out_;
                    break;
                case "LayerNorm":
                    if (s.Width is int shape && shape != width) throw new ModelSpecException($"{at}: normalized_shape is {shape}, but the layer before gives {width}");
                    double eps = s.Value ?? 1e-5;
                    if (!(eps > 0 && double.IsFinite(eps))) throw new ModelSpecException($"{at}: eps must be a positive number, not {eps}");
                    parameters += 2L * width;
                    layers.Add(new LayerNorm(name, width, eps));
                    break;
                case "Dropout":
                    double p = s.Value ?? 0.5;
                    if (!(p >= 0 && p < 1)) throw new ModelSpecException($"{at}: p must be in [0, 1), not {p}");
                    layers.Add(new Dropout(name, p));
                    break;
                case "LeakyReLU":
                    double slope = s.Value ?? 0.01;
                    if (!double.IsFinite(slope)) throw new ModelSpecException($"{at}: negative_slope must be a number, not {slope}");
                    layers.Add(new LeakyReLU(name, slope));
                    break;
                case "ReLU": layers.Add(new ReLU(name)); break;
                case "GELU": layers.Add(new GELU(name)); break;
                case "Tanh": layers.Add(new Tanh(name)); break;
                case "Sigmoid": layers.Add(new Sigmoid(name)); break;
                default: throw new ModelSpecException($"{at}: unknown layer type ({TypeList})");
            }
            if (parameters > MaxParameters) throw new ModelSpecException($"the model has over {MaxParameters} parameters");
        }
        if (width != outputs) throw new ModelSpecException($"the model ends with width {width}; this task needs {outputs} outputs (end with 'linear' to get them)");
        return new Sequential([.. layers]);
    }

    /// <summary>The model as the JSON that <see cref="FromJson"/> reads and PyTorch's constructors take, every width written out.</summary>
    public static string ToJson(Sequential model)
    {
        var layers = new JsonArray();
        foreach (var layer in model.Layers)
            layers.Add(layer switch
            {
                Linear l => new JsonObject { ["type"] = "Linear", ["in_features"] = l.In, ["out_features"] = l.Out },
                ReLU => new JsonObject { ["type"] = "ReLU" },
                LeakyReLU l => new JsonObject { ["type"] = "LeakyReLU", ["negative_slope"] = l.NegativeSlope },
                GELU => new JsonObject { ["type"] = "GELU" },
                Tanh => new JsonObject { ["type"] = "Tanh" },
                Sigmoid => new JsonObject { ["type"] = "Sigmoid" },
                Dropout d => new JsonObject { ["type"] = "Dropout", ["p"] = d.P },
                LayerNorm n => new JsonObject { ["type"] = "LayerNorm", ["normalized_shape"] = new JsonArray([.. n.NormalizedShape.Select(w => (JsonNode)w)]), ["eps"] = n.Eps },
                _ => throw new ModelSpecException($"layer {layer.Name}: {layer.Describe()} has no JSON form"),
            });
        return new JsonObject { ["layers"] = layers }.ToJsonString();
    }

    /// <summary>Layers as <see cref="FromJson"/> reads them, widths that follow from the layer before left out.</summary>
    public static string ToJson(IReadOnlyList<LayerSpec> specs)
    {
        var layers = new JsonArray();
        foreach (var s in specs)
        {
            var o = new JsonObject { ["type"] = s.Type };
            switch (s.Type)
            {
                case "Linear":
                    if (s.Value is double inF) o["in_features"] = (int)inF;
                    if (s.Width is int outF) o["out_features"] = outF;
                    break;
                case "Dropout" when s.Value is double p: o["p"] = p; break;
                case "LeakyReLU" when s.Value is double slope: o["negative_slope"] = slope; break;
                case "LayerNorm":
                    if (s.Width is int shape) o["normalized_shape"] = new JsonArray(shape);
                    if (s.Value is double eps) o["eps"] = eps;
                    break;
            }
            layers.Add(o);
        }
        return new JsonObject { ["layers"] = layers }.ToJsonString();
    }

    /// <summary>The width a model takes: its first linear layer's in_features, or its first layer norm's shape.</summary>
    public static int InputsOf(Sequential model) => model.Layers.Select(l => l switch
    {
        Linear linear => linear.In,
        LayerNorm norm when norm.NormalizedShape.Count == 1 => norm.NormalizedShape[0],
        _ => 0,
    }).FirstOrDefault(w => w > 0) is var w and > 0 ? w : throw new ModelSpecException("the model has no linear or layer-norm layer to tell its input width");
}
