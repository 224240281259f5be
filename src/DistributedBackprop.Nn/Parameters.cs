using System.Collections;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using DistributedBackprop.Core;

namespace DistributedBackprop.Nn;

/// <summary>
/// An immutable, ordered set of named tensors: a model's parameters (<c>linear1.weight</c>, ...), their
/// gradients, or an optimizer's per-parameter state. Order is the model's (PyTorch's named_parameters).
/// </summary>
public sealed class Parameters<T> : IReadOnlyList<(string Name, Tensor<T> Value)> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly (string Name, Tensor<T> Value)[] _items;
    private readonly Dictionary<string, int> _index;

    public Parameters(IEnumerable<(string Name, Tensor<T> Value)> items)
    {
        _items = items.ToArray();
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < _items.Length; i++)
            if (!_index.TryAdd(_items[i].Name, i)) throw new ArgumentException($"parameter '{_items[i].Name}' appears twice");
    }

    public int Count => _items.Length;
    public (string Name, Tensor<T> Value) this[int index] => _items[index];
    public Tensor<T> this[string name] => _index.TryGetValue(name, out var i) ? _items[i].Value : throw new KeyNotFoundException($"no parameter '{name}'");
    public bool Contains(string name) => _index.ContainsKey(name);
    public IEnumerable<string> Names => _items.Select(p => p.Name);

    public IEnumerator<(string Name, Tensor<T> Value)> GetEnumerator() => ((IEnumerable<(string, Tensor<T>)>)_items).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public Parameters<T> Map(Func<string, Tensor<T>, Tensor<T>> f) => new(_items.Select(p => (p.Name, f(p.Name, p.Value))));

    /// <summary>The same tensors in arrays of their own: writing the copy in place leaves these as they are.</summary>
    public Parameters<T> Copy() => Map((_, t) => Tensor<T>.FromArray(t.Data, [.. t.Shape]));
    public Parameters<TOut> Cast<TOut>() where TOut : unmanaged, IFloatingPointIeee754<TOut> => new(_items.Select(p => (p.Name, p.Value.Cast<TOut>())));

    /// <summary>The names bound to their tensors, to evaluate a graph whose variables are these parameters.</summary>
    public Dictionary<string, Tensor<T>> ToBindings() => _items.ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);

    /// <summary>
    /// SHA-256 (hex) of the tensors' raw little-endian bytes in ordinal name order: equal parameters give
    /// equal hashes, bit for bit, whichever way they were trained.
    /// </summary>
    public string Hash()
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (_, value) in _items.OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            var bytes = MemoryMarshal.AsBytes(value.Data);
            if (BitConverter.IsLittleEndian) sha.AppendData(bytes);
            else throw new PlatformNotSupportedException("parameter hashes are defined on little-endian machines");
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
