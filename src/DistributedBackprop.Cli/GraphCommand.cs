using System.CommandLine;
using DistributedBackprop.Core;

namespace DistributedBackprop.Cli;

/// <summary><c>dbp graph</c>: the computation graph of a program, as torchviz's make_dot draws it.</summary>
public static class GraphCommand
{
    public static Command Create()
    {
        var at = GradCommand.AtOption();
        at.Description = "variable values, e.g. x=2,y=4: each node then shows its value and gradient";
        var output = new Option<string>("--out", "-o") { Description = "the file to write: .dot, or .svg/.png through Graphviz's dot", Required = true };
        var command = new Command("graph", "The computation graph of a program (variables blue, ops named after their backward function, output green)")
        {
            GradCommand.ProgramArgument, at, output,
        };
        command.SetAction(r => Run(r.GetValue(GradCommand.ProgramArgument)!, r.GetValue(at) ?? [], r.GetValue(output)!));
        return command;
    }

    private static int Run(string text, string[] atItems, string path)
    {
        var program = ExpressionParser.Parse(text);
        var at = Bindings.Parse(atItems);
        var values = at.Count > 0 ? Bindings.Gradients(program.Output, Bindings.ToTensors(at)) : null;
        Graphviz.Write(Dot.Render(program.Output, program.Names, values), path);
        Console.WriteLine($"wrote {path}");
        return 0;
    }
}
