using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using DistributedBackprop.Core;

namespace DistributedBackprop.Nn;

/// <summary>
/// A model as an ONNX file (opset 17, IR version 8), in evaluation mode: input "input" [batch, features],
/// the optional standardisation (x − mean) / std as its first two nodes, the layers (Linear as Gemm with
/// transB, LayerNorm as LayerNormalization, GELU as x·½(1 + erf(x/√2)), dropout left out), output "output"
/// (the logits or values) and, for a classifier, "probabilities" (softmax, or sigmoid for binary
/// cross-entropy). The protobuf messages are written by hand — the few fields of onnx.proto they need — so
/// no protobuf package is needed.
/// </summary>
public static class Onnx
{
    public const int Opset = 17, IrVersion = 8;

    public enum Probabilities { None, Softmax, Sigmoid }

    public static byte[] ToBytes(Sequential model, Parameters<float> parameters, IReadOnlyList<double>? mean = null, IReadOnlyList<double>? std = null,
        Probabilities probabilities = Probabilities.None, string producerVersion = "")
    {
        int inputs = ModelSpec.InputsOf(model);
        var nodes = new List<byte[]>();
        var initializers = new List<byte[]>();
        string x = "input";
        int counter = 0;
        string Fresh(string stem) => $"{stem}_{counter++}";
        string Constant(string name, float[] values, params long[] dims) { initializers.Add(Tensor(name, values, dims)); return name; }
        void Node(string op, string[] ins, string output, params byte[][] attributes) => nodes.Add(NodeProto(op, ins, [output], Fresh(op), attributes));

        if (mean is not null && std is not null)
        {
            var m = Constant("feature_mean", [.. mean.Select(v => (float)v)], inputs);
            var s = Constant("feature_std", [.. std.Select(v => (float)v)], inputs);
            string centred = Fresh("centred"), scaled = Fresh("standardised");
            Node("Sub", [x, m], centred);
            Node("Div", [centred, s], scaled);
            x = scaled;
        }
        foreach (var layer in model.Layers)
        {
            string y = Fresh("h");
            switch (layer)
            {
                case Linear l:
                    Node("Gemm", [x, Constant(l.Weight.Name, Data(parameters, l.Weight.Name), l.Out, l.In), Constant(l.Bias.Name, Data(parameters, l.Bias.Name), l.Out)], y, IntAttribute("transB", 1));
                    break;
                case LayerNorm n:
                    Node("LayerNormalization", [x, Constant(n.Weight.Name, Data(parameters, n.Weight.Name), n.NormalizedShape[0]), Constant(n.Bias.Name, Data(parameters, n.Bias.Name), n.NormalizedShape[0])], y,
                        IntAttribute("axis", -1), FloatAttribute("epsilon", (float)n.Eps));
                    break;
                case ReLU: Node("Relu", [x], y); break;
                case Tanh: Node("Tanh", [x], y); break;
                case Sigmoid: Node("Sigmoid", [x], y); break;
                case LeakyReLU l: Node("LeakyRelu", [x], y, FloatAttribute("alpha", (float)l.NegativeSlope)); break;
                case GELU:
                    string scaled = Fresh("gelu"), erf = Fresh("gelu"), plus = Fresh("gelu"), times = Fresh("gelu");
                    Node("Div", [x, Constant(Fresh("sqrt2"), [MathF.Sqrt(2)])], scaled);
                    Node("Erf", [scaled], erf);
                    Node("Add", [erf, Constant(Fresh("one"), [1f])], plus);
                    Node("Mul", [x, plus], times);
                    Node("Mul", [times, Constant(Fresh("half"), [0.5f])], y);
                    break;
                case Dropout: continue; // the identity in evaluation
                default: throw new ModelSpecException($"layer {layer.Name}: {layer.Describe()} has no ONNX form");
            }
            x = y;
        }
        int outputs = model.Layers.OfType<Linear>().LastOrDefault()?.Out ?? inputs;
        nodes.Add(NodeProto("Identity", [x], ["output"], "output"));
        var outputsInfo = new List<byte[]> { ValueInfo("output", outputs) };
        if (probabilities != Probabilities.None)
        {
            nodes.Add(probabilities == Probabilities.Softmax
                ? NodeProto("Softmax", [x], ["probabilities"], "probabilities", IntAttribute("axis", -1))
                : NodeProto("Sigmoid", [x], ["probabilities"], "probabilities"));
            outputsInfo.Add(ValueInfo("probabilities", outputs));
        }
        var graph = new Proto();
        foreach (var n in nodes) graph.Bytes(1, n);
        graph.Text(2, "dbp");
        foreach (var t in initializers) graph.Bytes(5, t);
        graph.Bytes(11, ValueInfo("input", inputs));
        foreach (var o in outputsInfo) graph.Bytes(12, o);
        var opset = new Proto().Text(1, "").Varint(2, Opset).ToArray();
        return new Proto().Varint(1, IrVersion).Text(2, "dbp").Text(3, producerVersion).Bytes(7, graph.ToArray()).Bytes(8, opset).ToArray();
    }

    private static float[] Data(Parameters<float> parameters, string name) => parameters[name].ToArray();

    private static byte[] Tensor(string name, float[] values, long[] dims)
    {
        var t = new Proto();
        foreach (var d in dims) t.Varint(1, d);
        t.Varint(2, 1); // FLOAT
        t.Text(8, name);
        var raw = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4), values[i]);
        return t.Bytes(9, raw).ToArray();
    }

    private static byte[] ValueInfo(string name, int width)
    {
        var batch = new Proto().Text(2, "batch").ToArray();
        var features = new Proto().Varint(1, width).ToArray();
        var shape = new Proto().Bytes(1, batch).Bytes(1, features).ToArray();
        var tensorType = new Proto().Varint(1, 1).Bytes(2, shape).ToArray();
        var type = new Proto().Bytes(1, tensorType).ToArray();
        return new Proto().Text(1, name).Bytes(2, type).ToArray();
    }

    private static byte[] NodeProto(string op, string[] inputs, string[] outputs, string name, params byte[][] attributes)
    {
        var n = new Proto();
        foreach (var i in inputs) n.Text(1, i);
        foreach (var o in outputs) n.Text(2, o);
        n.Text(3, name).Text(4, op);
        foreach (var a in attributes) n.Bytes(5, a);
        return n.ToArray();
    }

    private static byte[] IntAttribute(string name, long value) => new Proto().Text(1, name).Varint(3, value).Varint(20, 2).ToArray();
    private static byte[] FloatAttribute(string name, float value) => new Proto().Text(1, name).Fixed32(2, value).Varint(20, 1).ToArray();

    /// <summary>A protobuf message being written: fields as (number, wire type) tags, varints, fixed32 and length-delimited bytes.</summary>
    private sealed class Proto
    {
        private readonly MemoryStream _bytes = new();

        public Proto Varint(int field, long value) { Tag(field, 0); Raw((ulong)value); return this; }
        public Proto Fixed32(int field, float value)
        {
            Tag(field, 5);
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteSingleLittleEndian(b, value);
            _bytes.Write(b);
            return this;
        }
        public Proto Text(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));
        public Proto Bytes(int field, byte[] value) { Tag(field, 2); Raw((ulong)value.Length); _bytes.Write(value); return this; }
        public byte[] ToArray() => _bytes.ToArray();

        private void Tag(int field, int wire) => Raw((ulong)(field << 3 | wire));
        private void Raw(ulong v)
        {
            while (v >= 0x80) { _bytes.WriteByte((byte)(v | 0x80)); v >>= 7; }
            _bytes.WriteByte((byte)v);
        }
    }
}
