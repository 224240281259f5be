namespace DistributedBackprop.Cli.Demo;

public static partial class NetworkSections
{
    public static void Regression(DemoContext c) => throw new NotImplementedException("regression: in progress");
}
