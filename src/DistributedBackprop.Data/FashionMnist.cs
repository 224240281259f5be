namespace DistributedBackprop.Data;

/// <summary>Fashion-MNIST from its four IDX files (plain or .gz), as Debian's dataset-fashion-mnist installs them.</summary>
public static class FashionMnist
{
    public const string DefaultFolder = "/usr/share/datasets/fashion-mnist";
    public const int Classes = 10;

    public static (Dataset Train, Dataset Test) Load(string folder)
    {
        if (!Directory.Exists(folder))
            throw new DataException($"{folder}: not found: install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or pass --data");
        return (Split(folder, "train"), Split(folder, "t10k"));
    }

    private static Dataset Split(string folder, string prefix)
    {
        var images = Idx.Read(Find(folder, $"{prefix}-images-idx3-ubyte"));
        var labels = Idx.Read(Find(folder, $"{prefix}-labels-idx1-ubyte"));
        if (images.Shape.Length != 3) throw new DataException($"{prefix} images: expected [n, rows, cols], got rank {images.Shape.Length}");
        if (labels.Shape.Length != 1) throw new DataException($"{prefix} labels: expected [n], got rank {labels.Shape.Length}");
        int n = images.Shape[0], pixels = images.Shape[1] * images.Shape[2];
        if (labels.Shape[0] != n) throw new DataException($"{prefix}: {n} images but {labels.Shape[0]} labels");
        // Pixels stay bytes; a batch's rows become byte / 255 as they are gathered.
        return Dataset.Classification(images.Data, 255f, [n, pixels], labels.Data.Select(b => (int)b).ToArray(), Classes);
    }

    private static string Find(string folder, string name)
    {
        foreach (var candidate in new[] { name + ".gz", name })
        {
            var path = Path.Combine(folder, candidate);
            if (File.Exists(path)) return path;
        }
        throw new DataException($"{Path.Combine(folder, name)}(.gz): not found: install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or pass --data");
    }
}
