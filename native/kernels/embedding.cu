// Token embedding lookup, bf16. Twin: src/Managed/OnnxCoEvo.Training/Cpu/Embedding.cs.
// Layout: ids [T] int32; table [vocab, dim] bf16; y, dy [T, dim] bf16; dtable [vocab, dim] fp32.
// Forward:  y[t, :] = table[ids[t], :]                         (a copy: exact)
// Backward: dtable[ids[t], :] += dy[t, :] in position order t = 0, 1, ...   (the twin's order, so the fp32 sums are
//           bit-identical): a stable radix sort of (id, t) groups each id's positions in increasing t, then one block
//           per group start adds its rows into the table row in that order. No atomics: deterministic.
#include <cub/device/device_radix_sort.cuh>

#include "coevo_kernels.h"
#include "common.cuh"

namespace coevo::kernels {
namespace {

__global__ void embedding_gather(const int32_t* __restrict__ ids, const bf16* __restrict__ table, bf16* __restrict__ y,
                                 int dim) {
    const int t = blockIdx.x;
    const size_t src = static_cast<size_t>(ids[t]) * dim, dst = static_cast<size_t>(t) * dim;
    if ((dim & 7) == 0) {  // 16-byte rows (buffers start 256-byte aligned)
        const uint4* s = reinterpret_cast<const uint4*>(table + src);
        uint4* d = reinterpret_cast<uint4*>(y + dst);
        for (int i = threadIdx.x; i < dim / 8; i += blockDim.x) d[i] = s[i];
    } else {
        for (int i = threadIdx.x; i < dim; i += blockDim.x) y[dst + i] = table[src + i];
    }
}

__global__ void iota(int32_t* out, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = i;
}

__global__ void embedding_accumulate(const int32_t* __restrict__ sorted_ids, const int32_t* __restrict__ positions,
                                     const bf16* __restrict__ dy, float* __restrict__ dtable, int tokens, int dim) {
    const int first = blockIdx.x;
    const int id = sorted_ids[first];
    if (first > 0 && sorted_ids[first - 1] == id) return;  // not the start of its id's group
    float* row = dtable + static_cast<size_t>(id) * dim;
    for (int c = threadIdx.x; c < dim; c += blockDim.x) {
        float acc = row[c];
        for (int j = first; j < tokens && sorted_ids[j] == id; j++)
            acc += to_f32(dy[static_cast<size_t>(positions[j]) * dim + c]);
        row[c] = acc;
    }
}

}  // namespace

cudaError_t embedding_forward(const int32_t* ids, const bf16* table, bf16* y, int tokens, int dim, cudaStream_t stream) {
    embedding_gather<<<tokens, 256, 0, stream>>>(ids, table, y, dim);
    return cudaGetLastError();
}

size_t embedding_sort_temp_bytes(int tokens) {
    size_t bytes = 0;
    cub::DeviceRadixSort::SortPairs(nullptr, bytes, static_cast<const int32_t*>(nullptr), static_cast<int32_t*>(nullptr),
                                    static_cast<const int32_t*>(nullptr), static_cast<int32_t*>(nullptr), tokens);
    return bytes;
}

cudaError_t embedding_backward(const int32_t* ids, const bf16* dy, float* dtable, int tokens, int dim,
                               int32_t* sorted_ids, int32_t* sorted_positions, int32_t* positions, void* sort_temp,
                               size_t sort_temp_bytes, cudaStream_t stream) {
    iota<<<blocks_for(tokens, 256), 256, 0, stream>>>(positions, tokens);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return e;
    e = cub::DeviceRadixSort::SortPairs(sort_temp, sort_temp_bytes, ids, sorted_ids, positions, sorted_positions, tokens,
                                        0, 32, stream);
    if (e != cudaSuccess) return e;
    embedding_accumulate<<<tokens, 256, 0, stream>>>(sorted_ids, sorted_positions, dy, dtable, tokens, dim);
    return cudaGetLastError();
}

}  // namespace coevo::kernels
