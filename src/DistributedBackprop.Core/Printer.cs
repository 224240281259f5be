using System.Globalization;
using System.Text;

namespace DistributedBackprop.Core;

/// <summary>Infix text for an expression, in the command line's own language where it has the op.</summary>
internal static class Printer
{
    private const int Budget = 400; // shared subgraphs print once per use: cut long text short

    public static string Print(Expr e)
    {
        var sb = new StringBuilder();
        Write(e, sb, 0);
        return sb.Length > Budget ? sb.ToString(0, Budget) + "…" : sb.ToString();
    }

    // Precedence: 1 additive, 2 multiplicative, 3 unary minus, 4 power, 5 atoms.
    private static void Write(Expr e, StringBuilder sb, int context)
    {
        if (sb.Length > Budget) return;
        var (prec, text) = e switch
        {
            Op.Variable v => (5, v.Name),
            Op.Constant c => (5, c.Value.Length == 1 ? Number(c.Value.Buffer[0]) : $"const{Shapes.Format(c.Value.Dims)}"),
            Op.Add a => (1, Infix(a.A, " + ", a.B, 1, 2)),
            Op.Sub s => (1, Infix(s.A, " - ", s.B, 1, 2)),
            Op.Mul m => (2, Infix(m.A, "*", m.B, 2, 3)),
            Op.Div d => (2, Infix(d.A, "/", d.B, 2, 3)),
            Op.Neg n => (3, "-" + Sub(n.X, 3)),
            Op.PowConst p => (4, Sub(p.X, 5) + "^" + Number(p.P)),
            Op.Pow p => (4, Infix(p.A, "^", p.B, 5, 4)),
            Op.Maximum m => (5, $"max({Sub(m.A, 0)}, {Sub(m.B, 0)})"),
            Op.Minimum m => (5, $"min({Sub(m.A, 0)}, {Sub(m.B, 0)})"),
            Op.Unary u => (5, $"{u.GetType().Name.ToLowerInvariant()}({Sub(u.X, 0)})"),
            Op.Reduction { KeepDims: false } r => (5, $"{r.GetType().Name.ToLowerInvariant()}({Sub(r.X, 0)}{(r.Axis is int a ? ", " + a.ToString(CultureInfo.InvariantCulture) : "")})"),
            _ => (5, $"{e.GetType().Name}({string.Join(", ", e.Inputs.Select(i => Sub(i, 0)))})"),
        };
        if (prec < context) sb.Append('(').Append(text).Append(')');
        else sb.Append(text);
    }

    private static string Sub(Expr e, int context)
    {
        var sb = new StringBuilder();
        Write(e, sb, context);
        return sb.ToString();
    }

    private static string Infix(Expr a, string op, Expr b, int left, int right) => Sub(a, left) + op + Sub(b, right);

    private static string Number(double v) => v.ToString("R", CultureInfo.InvariantCulture);

}
