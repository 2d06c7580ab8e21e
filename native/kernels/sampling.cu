// Next-token sampling from fp32 logits [rows, vocab]: greedy (temperature 0) or temperature, then top-k, then top-p,
// in Hugging Face's order. Twin: src/Managed/OnnxCoEvo.Onnx/Generation/TokenSampler.cs (Candidates + the draw of
// Sample), with the uniform draws given by the caller (uniforms [rows] in [0, 1): the caller owns the RNG, so runs are
// reproducible).
// Sampling, per row:
//   order ids by logit, largest first, ties by lower id   (stable segmented radix sort, descending)
//   keep the first k (k = top_k, or all when 0);  p_i = exp(z_i / T - z_0 / T) over the kept, sum S (fp64)
//   keep the shortest prefix whose cumulative p / S reaches top_p;  S' = its sum
//   pick the first i of the prefix whose cumulative p exceeds u S'  (the last one if rounding leaves none)
// Greedy: argmax, the lowest id on ties (no sort).
// Layout: logits [rows, vocab] fp32; uniforms [rows] fp32; ids [rows] int32 out.
#include <climits>

#include <cub/block/block_scan.cuh>
#include <cub/device/device_segmented_radix_sort.cuh>

#include "coevo_kernels.h"
#include "common.cuh"

namespace coevo::kernels {
namespace {

constexpr int kThreads = 1024;

__global__ void argmax_kernel(const float* __restrict__ logits, int32_t* __restrict__ ids, int vocab) {
    __shared__ float best_value[32];
    __shared__ int best_index[32];
    const float* z = logits + static_cast<size_t>(blockIdx.x) * vocab;
    float value = -INFINITY;
    int index = vocab;
    for (int v = threadIdx.x; v < vocab; v += kThreads) {
        if (z[v] > value) {  // strict: the first (lowest) index of this thread's equal values wins
            value = z[v];
            index = v;
        }
    }
    // (value, index) reduction: larger value, then lower index.
    for (int offset = 16; offset > 0; offset >>= 1) {
        const float ov = __shfl_xor_sync(kFullMask, value, offset);
        const int oi = __shfl_xor_sync(kFullMask, index, offset);
        if (ov > value || (ov == value && oi < index)) {
            value = ov;
            index = oi;
        }
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) {
        best_value[warp] = value;
        best_index[warp] = index;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < kThreads / 32; w++) {
            if (best_value[w] > value || (best_value[w] == value && best_index[w] < index)) {
                value = best_value[w];
                index = best_index[w];
            }
        }
        ids[blockIdx.x] = index < vocab ? index : 0;  // all -inf/NaN: id 0
    }
}

__global__ void fill_indices(int32_t* ids, int32_t* offsets, int rows, int vocab) {
    const long long n = static_cast<long long>(rows) * vocab;
    for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<long long>(gridDim.x) * blockDim.x)
        ids[i] = static_cast<int32_t>(i % vocab);
    const int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r <= rows) offsets[r] = r * vocab;
}

using Scan = cub::BlockScan<double, kThreads>;

// The first index i < count whose inclusive prefix sum of weight(i) reaches `threshold` (>= when `inclusive_ge`,
// else >), or -1; *total gets the sum of all weights below count.
template <typename Weight>
__device__ int first_reaching(int count, double threshold, bool inclusive_ge, Weight weight, double* total,
                              typename Scan::TempStorage& temp, int* found) {
    double running = 0.0;
    if (threadIdx.x == 0) *found = INT_MAX;
    __syncthreads();
    for (int base = 0; base < count; base += kThreads) {
        const int i = base + threadIdx.x;
        const double w = i < count ? weight(i) : 0.0;
        double prefix, chunk_total;
        Scan(temp).InclusiveSum(w, prefix, chunk_total);
        const double cumulative = running + prefix;
        if (i < count && (inclusive_ge ? cumulative >= threshold : cumulative > threshold)) atomicMin(found, i);
        running += chunk_total;
        __syncthreads();  // temp reuse; *found visible
        if (*found != INT_MAX) break;  // the same value for every thread: uniform exit
    }
    *total = running;
    const int result = *found;
    __syncthreads();
    return result == INT_MAX ? -1 : result;
}

__global__ void __launch_bounds__(kThreads)
    sample_kernel(const float* __restrict__ sorted_logits, const int32_t* __restrict__ sorted_ids,
                  const float* __restrict__ uniforms, int32_t* __restrict__ ids, int vocab, double inverse_temperature,
                  int top_k, double top_p) {
    __shared__ typename Scan::TempStorage temp;
    __shared__ double scratch[32];
    __shared__ int found;
    const size_t base = static_cast<size_t>(blockIdx.x) * vocab;
    const float* z = sorted_logits + base;
    const int kept = top_k > 0 && top_k < vocab ? top_k : vocab;
    const double max = z[0] * inverse_temperature;
    auto weight = [&](int i) { return exp(z[i] * inverse_temperature - max); };

    double sum = 0.0;
    for (int i = threadIdx.x; i < kept; i += kThreads) sum += weight(i);
    sum = block_sum(sum, scratch);

    int keep = kept;
    double total = 0.0;
    if (top_p < 1.0) {
        const int last = first_reaching(kept, top_p * sum, true, weight, &total, temp, &found);
        if (last >= 0) keep = last + 1;
    }
    double kept_sum = 0.0;
    for (int i = threadIdx.x; i < keep; i += kThreads) kept_sum += weight(i);
    kept_sum = block_sum(kept_sum, scratch);
    const int pick = first_reaching(keep, static_cast<double>(uniforms[blockIdx.x]) * kept_sum, false, weight, &total,
                                    temp, &found);
    if (threadIdx.x == 0) ids[blockIdx.x] = sorted_ids[base + (pick >= 0 ? pick : keep - 1)];
}

}  // namespace

size_t sampling_sort_temp_bytes(int rows, int vocab) {
    size_t bytes = 0;
    cub::DeviceSegmentedRadixSort::SortPairsDescending(
        nullptr, bytes, static_cast<const float*>(nullptr), static_cast<float*>(nullptr),
        static_cast<const int32_t*>(nullptr), static_cast<int32_t*>(nullptr), rows * vocab, rows,
        static_cast<const int32_t*>(nullptr), static_cast<const int32_t*>(nullptr));
    return bytes;
}

cudaError_t sample_tokens(const float* logits, const float* uniforms, int32_t* ids, int rows, int vocab,
                          float temperature, int top_k, float top_p, float* sorted_logits, int32_t* ids_in,
                          int32_t* sorted_ids, int32_t* offsets, void* sort_temp, size_t sort_temp_bytes,
                          cudaStream_t stream) {
    if (temperature == 0.0f) {
        argmax_kernel<<<rows, kThreads, 0, stream>>>(logits, ids, vocab);
        return cudaGetLastError();
    }
    const long long n = static_cast<long long>(rows) * vocab;
    fill_indices<<<elementwise_blocks(n > rows + 1 ? n : rows + 1, 256), 256, 0, stream>>>(ids_in, offsets, rows, vocab);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return e;
    e = cub::DeviceSegmentedRadixSort::SortPairsDescending(sort_temp, sort_temp_bytes, logits, sorted_logits, ids_in,
                                                           sorted_ids, static_cast<int>(n), rows, offsets, offsets + 1,
                                                           0, 32, stream);
    if (e != cudaSuccess) return e;
    sample_kernel<<<rows, kThreads, 0, stream>>>(sorted_logits, sorted_ids, uniforms, ids, vocab,
                                                 1.0 / static_cast<double>(temperature), top_k,
                                                 static_cast<double>(top_p));
    return cudaGetLastError();
}

}  // namespace coevo::kernels
