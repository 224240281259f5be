using BenchmarkDotNet.Running;
using DistributedBackprop.Benchmarks;

if (args is ["--csv", var csvPath, ..])
{
    DistributedBackprop.Benchmarks.CsvParsing.Print(csvPath, args.Length > 2 ? int.Parse(args[2]) : 3, Console.Out);
    return 0;
}
if (args.Contains("--profile"))
{
    PlanProfile.Print(Console.Out);
    return 0;
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
