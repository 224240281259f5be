using System.Text.Json;
using DistributedBackprop.Core;

namespace DistributedBackprop.Cli;

/// <summary>JSON has no NaN or infinity: those are written as null.</summary>
public static class Json
{
    public static void Number(Utf8JsonWriter w, string name, double value)
    {
        w.WritePropertyName(name);
        Number(w, value);
    }

    /// <summary>A tensor as nested arrays of its shape; a scalar (rank 0) as a plain number.</summary>
    public static void Tensor(Utf8JsonWriter w, string name, Tensor<double> t)
    {
        w.WritePropertyName(name);
        int pos = 0;
        void Write(int axis)
        {
            if (axis == t.Rank) { Number(w, t.Data[pos++]); return; }
            w.WriteStartArray();
            for (int i = 0; i < t.Shape[axis]; i++) Write(axis + 1);
            w.WriteEndArray();
        }
        Write(0);
    }

    /// <summary>Writes one JSON object, built by <paramref name="body"/>, as a line of standard output.</summary>
    public static void Line(Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        Console.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }

    private static void Number(Utf8JsonWriter w, double value)
    {
        if (double.IsFinite(value)) w.WriteNumberValue(value);
        else w.WriteNullValue();
    }
}
