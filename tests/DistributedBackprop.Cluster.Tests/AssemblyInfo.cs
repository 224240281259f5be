// Cluster tests start several real nodes each; run side by side on two cores they would starve one
// another's heartbeats and turn the timing of every pause test into luck.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
