// Every test here redirects the process-wide Console.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
