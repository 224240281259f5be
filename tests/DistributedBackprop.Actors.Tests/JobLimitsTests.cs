using DistributedBackprop.Actors;

namespace DistributedBackprop.Actors.Tests;

public class JobLimitsTests
{
    [Theory]
    [InlineData(0, 1, 256, "--workers must be from 1 to 256, not 0")]
    [InlineData(100_000, 0, 256, "--workers must be from 0 to 256, not 100,000")]
    [InlineData(257, 0, 256, "--workers must be from 0 to 256, not 257")]
    public void A_count_out_of_bounds_is_one_line_naming_the_flag_and_the_bounds(long value, long min, long max, string expected) =>
        Assert.Equal(expected, JobLimits.Count("--workers", value, max, min));

    [Theory]
    [InlineData(0)]
    [InlineData(256)]
    public void A_count_within_bounds_passes(long value) => Assert.Null(JobLimits.Count("--workers", value, 256, 0));

    [Fact]
    public void Parameters_are_counted_without_building_the_model()
    {
        Assert.Equal(1 * 32 + 32 + 32 * 32 + 32 + 32 * 1 + 1, JobLimits.Parameters(1, [32, 32], 1));
        Assert.Equal(784L * 256 + 256 + 256 * 10 + 10, JobLimits.Parameters(784, [256], 10));
        Assert.Equal(400_080_001, JobLimits.Parameters(1, [20000, 20000], 1));
    }

    [Fact]
    public void A_model_too_large_to_train_is_refused_with_its_size()
    {
        var problem = JobLimits.Model("--hidden", 1, [20000, 20000], 1);
        Assert.Equal("--hidden 20000,20000: 400,080,001 parameters, more than dbp trains (100,000,000, 400.0 MB a copy)", problem);
        Assert.Null(JobLimits.Model("--hidden", 784, [1024, 512], 10));
    }

    [Theory]
    [InlineData(new[] { 0 }, "a layer width must be from 1 to 65,536, not 0")]
    [InlineData(new[] { 70000 }, "a layer width must be from 1 to 65,536, not 70,000")]
    [InlineData(new int[0], "from 1 to 64 hidden layers, not 0")]
    public void Widths_and_layer_counts_are_bounded(int[] hidden, string expected) =>
        Assert.Equal($"--hidden: {expected}", JobLimits.Model("--hidden", 1, hidden, 1));

    [Fact]
    public void Memory_counts_copies_per_optimizer_slot_and_per_worker_and_the_activations()
    {
        double plain = JobLimits.MemoryNeeded(1_000_000, 0, 0, 0, 1, [10], 1, 0);
        Assert.Equal(4e6 * 4, plain);
        Assert.Equal(4e6 * (4 + 8 + 10), JobLimits.MemoryNeeded(1_000_000, 2, 2, 0, 1, [10], 1, 0));
        Assert.Equal(4.0 * 4 * 100 * (1 + 10 + 1) * 2 + 1000, JobLimits.MemoryNeeded(0, 0, 2, 100, 1, [10], 1, 1000));
        Assert.Null(JobLimits.Memory(1e9, 2_000_000_000));
        Assert.StartsWith("this training needs about 3.0 GB of memory, more than the 2.0 GB", JobLimits.Memory(3e9, 2_000_000_000));
    }

    [Fact]
    public void In_a_cluster_a_gradient_must_fit_in_one_frame()
    {
        long frame = 16 * 1024 * 1024;
        Assert.Null(JobLimits.Frame(JobLimits.Parameters(784, [256], 10), 4, 128, frame));
        Assert.StartsWith("a gradient of this model is 16.8 MB, more than the largest message between nodes (16.8 MB",
            JobLimits.Frame(4_200_000, 4, 128, frame));
        Assert.StartsWith("--micro-shard 4,000,000: a shard's example list", JobLimits.Frame(1000, 4, 4_000_000, frame));
    }
}
