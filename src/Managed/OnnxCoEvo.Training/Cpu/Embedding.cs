using System.Numerics.Tensors;

namespace OnnxCoEvo.Training.Cpu;

/// <summary>
/// Token embedding lookup, fp32 CPU reference. Twin of native/kernels/embedding.cu.
/// </summary>
public static class Embedding
{
    // Forward:  y[t, :] = table[ids[t], :]
    // Backward: dTable[ids[t], :] += dy[t, :] for t = 0, 1, ..., T-1 in that order (a token that repeats adds its rows
    //           in position order, so the sum is the same on every run; the CUDA twin sorts by id to keep that order).
    // Layout: ids [T]; table, dTable [vocab, dim]; y, dy [T, dim] row-major.

    /// <summary>Copies the table row of each id into <paramref name="output"/>.</summary>
    /// <exception cref="ArgumentException">A span is shorter than its shape or an id is outside [0, vocab).</exception>
    public static void Forward(ReadOnlySpan<int> tokenIds, ReadOnlySpan<float> table, Span<float> output, int vocab, int dim)
    {
        CheckShapes(tokenIds, table.Length, output.Length, vocab, dim, nameof(table), nameof(output));
        for (int t = 0; t < tokenIds.Length; t++)
            table.Slice(tokenIds[t] * dim, dim).CopyTo(output.Slice(t * dim, dim));
    }

    /// <summary>Adds each row of <paramref name="dOutput"/> into the table-gradient row of its id (serial: ids repeat).</summary>
    public static void Backward(ReadOnlySpan<int> tokenIds, ReadOnlySpan<float> dOutput, Span<float> dTable, int vocab, int dim)
    {
        CheckShapes(tokenIds, dTable.Length, dOutput.Length, vocab, dim, nameof(dTable), nameof(dOutput));
        for (int t = 0; t < tokenIds.Length; t++)
        {
            Span<float> row = dTable.Slice(tokenIds[t] * dim, dim);
            TensorPrimitives.Add(row, dOutput.Slice(t * dim, dim), row);
        }
    }

    private static void CheckShapes(ReadOnlySpan<int> tokenIds, int tableLength, int rowsLength, int vocab, int dim, string tableName, string rowsName)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocab, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(dim, 1);
        if (tableLength < (long)vocab * dim)
            throw new ArgumentException($"{tableName} [vocab, dim] has {tableLength} elements but {(long)vocab * dim} are needed", tableName);
        if (rowsLength < (long)tokenIds.Length * dim)
            throw new ArgumentException($"{rowsName} [T, dim] has {rowsLength} elements but {(long)tokenIds.Length * dim} are needed", rowsName);
        foreach (int id in tokenIds)
        {
            if ((uint)id >= (uint)vocab)
                throw new ArgumentException($"token id {id} is outside the vocabulary [0, {vocab})", nameof(tokenIds));
        }
    }
}
