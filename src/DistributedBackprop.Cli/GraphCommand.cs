using System.CommandLine;
using DistributedBackprop.Core;
using DistributedBackprop.Nn;

namespace DistributedBackprop.Cli;

/// <summary><c>dbp graph</c>: the computation graph of a program, as torchviz's make_dot draws it.</summary>
public static class GraphCommand
{
    public static Command Create()
    {
        var at = GradCommand.AtOption();
        at.Description = "variable values, e.g. x=2,y=4 or x=[1,2,3]: each node then shows its shape from them, its value and its gradient";
        var output = new Option<string>("--out", "-o") { Description = "the file to write: .dot, or .svg/.png through Graphviz's dot", Required = true };
        var showInputs = new Option<bool>("--show-inputs") { Description = "also draw what needs no gradient (constants), which torchviz leaves out" };
        var command = new Command("graph", "The computation graph of a program as torchviz draws it: variables blue with their shape, each feeding an AccumulateGrad node, ops named after their backward function, output green")
        {
            GradCommand.ProgramArgument, at, output, showInputs,
        };
        command.SetAction(r => Run(r.GetValue(GradCommand.ProgramArgument)!, r.GetValue(at) ?? [], r.GetValue(output)!, r.GetValue(showInputs)));
        return command;
    }

    private static int Run(string text, string[] atItems, string path, bool showInputs)
    {
        AtomicFile.CheckTarget(path, ".dot", ".gv", ".svg", ".png"); // before any work: a device, a pipe or an unknown picture is refused
        var program = ExpressionParser.Parse(text);
        var at = Bindings.Parse(atItems);
        Gradients<double>? values = null;
        if (at.Count > 0)
        {
            Bindings.Check(program, at);
            values = Backprop.Gradients(program.Output, Bindings.ToTensors(at));
        }
        Graphviz.Write(Dot.Render(program.Output, program.Names, values, showInputs), path);
        Console.WriteLine($"wrote {path}");
        return 0;
    }
}
