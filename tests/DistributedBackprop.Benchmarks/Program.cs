using BenchmarkDotNet.Running;
using DistributedBackprop.Benchmarks;

if (args.Contains("--profile"))
{
    PlanProfile.Print(Console.Out);
    return 0;
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
