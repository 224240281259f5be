using DistributedBackprop.Core;

namespace DistributedBackprop.Data;

/// <summary>A data set that cannot be read or does not make sense: one line saying which file and what.</summary>
public sealed class DataException(string message) : Exception(message);

/// <summary>
/// An immutable set of examples as float rows: inputs [n, ...] and targets [n, ...] (one-hot rows for
/// classification, with <see cref="Labels"/> kept for accuracy). Batches are gathered by example index.
/// </summary>
public sealed class Dataset
{
    private readonly float[] _inputs, _targets;

    public Dataset(float[] inputs, int[] inputShape, float[] targets, int[] targetShape, int[]? labels = null)
    {
        Count = inputShape[0];
        if (targetShape[0] != Count) throw new DataException($"{Count} inputs but {targetShape[0]} targets");
        if (inputs.Length != Shapes.Size(inputShape) || targets.Length != Shapes.Size(targetShape))
            throw new DataException("data does not fill its shape");
        _inputs = inputs;
        _targets = targets;
        InputShape = inputShape[1..];
        TargetShape = targetShape[1..];
        InputSize = Shapes.Size(InputShape);
        TargetSize = Shapes.Size(TargetShape);
        Labels = labels;
    }

    /// <summary>Classification examples: one-hot targets over <paramref name="classes"/> classes.</summary>
    public static Dataset Classification(float[] inputs, int[] inputShape, int[] labels, int classes)
    {
        var oneHot = new float[labels.Length * classes];
        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)classes) throw new DataException($"label {labels[i]} of example {i} is outside 0..{classes - 1}");
            oneHot[i * classes + labels[i]] = 1f;
        }
        return new Dataset(inputs, inputShape, oneHot, [labels.Length, classes], labels);
    }

    public int Count { get; }
    public int[] InputShape { get; }
    public int[] TargetShape { get; }
    public int InputSize { get; }
    public int TargetSize { get; }
    public int[]? Labels { get; }

    public Tensor<float> Inputs => new(_inputs, [Count, .. InputShape]);
    public Tensor<float> Targets => new(_targets, [Count, .. TargetShape]);

    /// <summary>Copies the examples at <paramref name="indices"/> into caller-owned rows: no allocation per batch.</summary>
    public void Gather(ReadOnlySpan<int> indices, Span<float> inputs, Span<float> targets)
    {
        for (int i = 0; i < indices.Length; i++)
        {
            int k = indices[i];
            if ((uint)k >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(indices), $"example {k} is outside 0..{Count - 1}");
            _inputs.AsSpan(k * InputSize, InputSize).CopyTo(inputs.Slice(i * InputSize, InputSize));
            _targets.AsSpan(k * TargetSize, TargetSize).CopyTo(targets.Slice(i * TargetSize, TargetSize));
        }
    }

    /// <summary>The examples at <paramref name="indices"/> as new tensors.</summary>
    public (Tensor<float> Inputs, Tensor<float> Targets) Gather(ReadOnlySpan<int> indices)
    {
        var x = new float[indices.Length * InputSize];
        var y = new float[indices.Length * TargetSize];
        Gather(indices, x, y);
        return (new Tensor<float>(x, [indices.Length, .. InputShape]), new Tensor<float>(y, [indices.Length, .. TargetShape]));
    }
}
