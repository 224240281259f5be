using System.Globalization;

namespace DistributedBackprop.Nn;

/// <summary>Numbers as Python prints them, for modules described as PyTorch prints them.</summary>
internal static class Python
{
    /// <summary>
    /// Python's <c>repr(float)</c>: the shortest digits that read back as the same double, positional while
    /// the decimal point falls within 16 places of the digits (<c>0.01</c>, <c>1.0</c>), else scientific
    /// with a signed, two-digit exponent (<c>1e-05</c>, <c>1e+16</c>).
    /// </summary>
    public static string Float(double v)
    {
        if (double.IsNaN(v)) return "nan";
        if (double.IsInfinity(v)) return v > 0 ? "inf" : "-inf";
        string sign = v < 0 || (v == 0 && double.IsNegative(v)) ? "-" : "";
        var (digits, exponent) = Digits(Math.Abs(v));
        if (digits == "0") return sign + "0.0";
        int point = exponent + 1; // digits d1 d2 ... stand for 0.d1d2... × 10^point
        if (point > 16 || point < -3)
        {
            string mantissa = digits.Length == 1 ? digits : digits[0] + "." + digits[1..];
            return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture);
        }
        if (point <= 0) return sign + "0." + new string('0', -point) + digits;
        if (point >= digits.Length) return sign + digits + new string('0', point - digits.Length) + ".0";
        return sign + digits[..point] + "." + digits[point..];
    }

    /// <summary>The shortest round-trip digits of a non-negative double, without leading or trailing zeros, and the exponent of the first.</summary>
    private static (string Digits, int Exponent) Digits(double v)
    {
        var r = v.ToString("R", CultureInfo.InvariantCulture);
        int e = r.IndexOf('E');
        int exponent = e < 0 ? 0 : int.Parse(r[(e + 1)..], CultureInfo.InvariantCulture);
        var mantissa = e < 0 ? r : r[..e];
        int dot = mantissa.IndexOf('.');
        var all = mantissa.Replace(".", "");
        int pointAfter = dot < 0 ? mantissa.Length : dot; // digits before the decimal point
        int lead = 0;
        while (lead < all.Length - 1 && all[lead] == '0') lead++;
        var digits = all[lead..].TrimEnd('0');
        if (digits.Length == 0) return ("0", 0);
        return (digits, exponent + pointAfter - lead - 1);
    }
}
