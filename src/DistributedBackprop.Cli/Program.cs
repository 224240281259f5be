using DistributedBackprop.Cli;

return Cli.Run(Cli.Root(), args);
