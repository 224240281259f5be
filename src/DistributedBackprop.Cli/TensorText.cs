using System.Globalization;
using System.Text;
using DistributedBackprop.Core;

namespace DistributedBackprop.Cli;

/// <summary>Tensors for tables: nested brackets, every number with the same decimals and width, a row a line.</summary>
public static class TensorText
{
    /// <summary>Fixed decimals; a zero is never "-0" (a product with a negative factor gives -0.0).</summary>
    public static string Number(double v, int precision) => (v == 0 ? 0.0 : v).ToString("F" + precision, CultureInfo.InvariantCulture);

    /// <summary>
    /// A scalar as a number; a tensor as NumPy prints one, its lines after the first indented by
    /// <paramref name="indent"/> spaces so that the text can follow a label.
    /// </summary>
    public static string Format(Tensor<double> t, int precision, int indent = 0)
    {
        var text = t.ToArray().Select(v => Number(v, precision)).ToArray();
        if (t.Rank == 0) return text[0];
        int width = text.Max(s => s.Length);
        var sb = new StringBuilder();
        int pos = 0;
        void Write(int axis)
        {
            if (axis == t.Rank) { sb.Append(text[pos++].PadLeft(width)); return; }
            sb.Append('[');
            for (int i = 0; i < t.Shape[axis]; i++)
            {
                if (i > 0) sb.Append(axis == t.Rank - 1 ? ", " : "," + new string('\n', t.Rank - 1 - axis) + new string(' ', indent + axis + 1));
                Write(axis + 1);
            }
            sb.Append(']');
        }
        Write(0);
        return sb.ToString();
    }
}
