using DistributedBackprop.Data;

namespace DistributedBackprop.Data.Tests;

public class DatasetTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dbp-fm-").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    private void WriteFashion(int train, int test, bool gzip)
    {
        foreach (var (prefix, n) in new[] { ("train", train), ("t10k", test) })
        {
            var pixels = Enumerable.Range(0, n * 28 * 28).Select(i => (byte)(i % 256)).ToArray();
            var labels = Enumerable.Range(0, n).Select(i => (byte)((i * 3) % 10)).ToArray();
            var images = IdxTests.IdxBytes([n, 28, 28], pixels);
            var lbl = IdxTests.IdxBytes([n], labels);
            File.WriteAllBytes(Path.Combine(_dir, $"{prefix}-images-idx3-ubyte" + (gzip ? ".gz" : "")), gzip ? IdxTests.Gzip(images) : images);
            File.WriteAllBytes(Path.Combine(_dir, $"{prefix}-labels-idx1-ubyte" + (gzip ? ".gz" : "")), gzip ? IdxTests.Gzip(lbl) : lbl);
        }
    }

    [Theory]
    [InlineData(784)] // 12 blocks of 64 (or 24 of 32 without AVX-512) and a tail of 16
    [InlineData(100)] // a block of 64, one of 32 and a tail of 4
    [InlineData(7)] // all tail
    public void Byte_inputs_gather_the_floats_a_scalar_division_makes(int size)
    {
        var rng = new Random(size);
        var bytes = new byte[6 * size];
        rng.NextBytes(bytes);
        int[] labels = [0, 1, 2, 0, 1, 2];
        var asBytes = Dataset.Classification(bytes, 255f, [6, size], labels, 3);
        var asFloats = Dataset.Classification(bytes.Select(b => b / 255f).ToArray(), [6, size], labels, 3);
        int[] batch = [5, 0, 3, 3];
        Assert.Equal(asFloats.Gather(batch).Inputs.ToArray(), asBytes.Gather(batch).Inputs.ToArray());
        Assert.Equal(asFloats.Gather(batch).Targets.ToArray(), asBytes.Gather(batch).Targets.ToArray());
        Assert.Equal(asFloats.Inputs.ToArray(), asBytes.Inputs.ToArray());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Fashion_mnist_loads_scaled_pixels_and_one_hot_labels(bool gzip)
    {
        WriteFashion(5, 3, gzip);
        var (train, test) = FashionMnist.Load(_dir);
        Assert.Equal((5, 3), (train.Count, test.Count));
        Assert.Equal([784], train.InputShape);
        Assert.Equal([10], train.TargetShape);
        Assert.Equal(1 / 255f, train.Inputs.Data[1]);
        Assert.Equal(255 / 255f, train.Inputs.Data[255]);
        Assert.Equal([0, 3, 6, 9, 2], train.Labels!);
        var (_, y) = train.Gather([1]);
        Assert.Equal(1f, y.Data[3]);
        Assert.Equal(1f, y.Data.ToArray().Sum());
    }

    [Fact]
    public void A_missing_folder_names_the_debian_package()
    {
        var e = Assert.Throws<DataException>(() => FashionMnist.Load(Path.Combine(_dir, "nope")));
        Assert.Contains("apt-get install dataset-fashion-mnist", e.Message);
    }

    [Fact]
    public void Images_and_labels_must_agree_in_number()
    {
        WriteFashion(5, 3, gzip: false);
        File.WriteAllBytes(Path.Combine(_dir, "t10k-labels-idx1-ubyte"), IdxTests.IdxBytes([2], [1, 2]));
        Assert.Contains("3 images but 2 labels", Assert.Throws<DataException>(() => FashionMnist.Load(_dir)).Message);
    }

    [Fact]
    public void The_notebook_regression_is_seeded_and_follows_its_formula()
    {
        var a = NotebookRegression.Create(200, seed: 3);
        Assert.Equal([1], a.InputShape);
        var x = a.Inputs.ToArray();
        var y = a.Targets.ToArray();
        Assert.All(x, v => Assert.InRange(v, 0f, 1f));
        for (int i = 0; i < x.Length; i++)
            Assert.True(Math.Abs(4 * Math.Sin(Math.PI * x[i]) * Math.Cos(6 * Math.PI * x[i] * x[i]) - y[i]) < 2e-5, $"y({x[i]}) = {y[i]}");
        Assert.Equal(x, NotebookRegression.Create(200, 3).Inputs.ToArray());
        Assert.NotEqual(x, NotebookRegression.Create(200, 4).Inputs.ToArray());
        Assert.Throws<DataException>(() => NotebookRegression.Create(0, 1));
    }

    [Fact]
    public void Gather_copies_the_chosen_rows()
    {
        var d = new Dataset([0, 1, 10, 11, 20, 21], [3, 2], [5, 6, 7], [3, 1]);
        var (x, y) = d.Gather([2, 0]);
        Assert.Equal([20f, 21f, 0f, 1f], x.ToArray());
        Assert.Equal([7f, 5f], y.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => d.Gather([3]));
    }

    [Fact]
    public void Every_example_comes_once_an_epoch_in_batches_that_a_step_number_reproduces()
    {
        var batches = new Batches(103, 10, Shuffle: true, Seed: 5);
        Assert.Equal(11, batches.PerEpoch);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            var seen = Enumerable.Range(0, 11).SelectMany(i => batches.For(epoch * 11 + i)).ToList();
            Assert.Equal(Enumerable.Range(0, 103), seen.Order());
            Assert.Equal(3, batches.For(epoch * 11 + 10).Length);
        }
        Assert.NotEqual(batches.For(0), batches.For(11)); // a new order each epoch
        Assert.Equal(batches.For(13), new Batches(103, 10, true, 5).For(13)); // resuming at step 13
        Assert.NotEqual(batches.For(0), new Batches(103, 10, true, 6).For(0));
        Assert.Equal(Enumerable.Range(20, 10), new Batches(103, 10, false, 5).For(2));
    }

    [Theory]
    [InlineData(200, 64, 4)]
    [InlineData(256, 64, 4)]
    [InlineData(5, 64, 1)]
    public void Micro_shards_cover_the_batch_in_order(int count, int size, int shards)
    {
        var cut = Batches.MicroShards(count, size);
        Assert.Equal(shards, cut.Length);
        Assert.Equal(Enumerable.Range(0, count), cut.SelectMany(s => Enumerable.Range(s.Start, s.Count)));
        Assert.All(cut[..^1], s => Assert.Equal(size, s.Count));
    }
}
