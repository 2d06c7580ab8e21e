using System.Collections;

namespace OnnxCoEvo.Training.Parameters;

/// <summary>The parameters of a model by name, in insertion order (which is the order optimizers and checkpoints use).</summary>
public sealed class ParameterSet : IReadOnlyList<Parameter>
{
    private readonly List<Parameter> _ordered = [];
    private readonly Dictionary<string, Parameter> _byName = new(StringComparer.Ordinal);

    public int Count => _ordered.Count;

    public Parameter this[int index] => _ordered[index];

    public Parameter this[string name] => _byName.TryGetValue(name, out var p)
        ? p
        : throw new KeyNotFoundException($"no parameter named '{name}'");

    public void Add(Parameter parameter)
    {
        if (!_byName.TryAdd(parameter.Name, parameter))
            throw new ArgumentException($"parameter '{parameter.Name}' is already in the set");
        _ordered.Add(parameter);
    }

    public bool Contains(string name) => _byName.ContainsKey(name);

    public bool TryGet(string name, out Parameter parameter) => _byName.TryGetValue(name, out parameter!);

    /// <summary>The parameters that carry gradients, in set order.</summary>
    public IReadOnlyList<Parameter> Trainable => _ordered.Where(p => p.Trainable).ToList();

    public long TrainableElementCount => _ordered.Where(p => p.Trainable).Sum(p => (long)p.Length);

    public long ElementCount => _ordered.Sum(p => (long)p.Length);

    public void ZeroGrad()
    {
        foreach (var p in _ordered)
            p.ZeroGrad();
    }

    public IEnumerator<Parameter> GetEnumerator() => _ordered.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
