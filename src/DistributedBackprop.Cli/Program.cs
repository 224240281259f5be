using DistributedBackprop.Cli;

JitProfile.Start(args);
return Cli.Run(Cli.Root(), args);
