using System.Text.Json;

namespace DistributedBackprop.Cli;

/// <summary>JSON has no NaN or infinity: those are written as null.</summary>
public static class Json
{
    public static void Number(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value);
        else w.WriteNull(name);
    }
}
