// Device helpers shared by the kernel families: bf16 <-> fp32, warp and block reductions, launch arithmetic.
// Storage is bf16 (__nv_bfloat16), arithmetic fp32: every kernel loads bf16, computes in fp32 and rounds once on store.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace coevo::kernels {

using bf16 = __nv_bfloat16;

constexpr unsigned kFullMask = 0xffffffffu;

__device__ __forceinline__ float to_f32(bf16 v) { return __bfloat162float(v); }
__device__ __forceinline__ bf16 to_bf16(float v) { return __float2bfloat16_rn(v); }

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(kFullMask, v, offset);
    return v;
}

__device__ __forceinline__ double warp_sum(double v) {
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(kFullMask, v, offset);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, offset));
    return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the total. `scratch` holds 32
// values of T in shared memory. Two barriers: safe to call repeatedly with the same scratch.
template <typename T>
__device__ __forceinline__ T block_sum(T v, T* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();  // scratch may still be read by a previous call
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : T(0);
    return warp_sum(v);
}

__device__ __forceinline__ float block_max(float v, float* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : -INFINITY;
    return warp_max(v);
}

// Attention (attention.cu, attention_tc.cu): the saved lse and delta of query rows [q0, q0 + count) of one head into
// shared memory (0 past the sequence's end), by the block's `threads` threads.
__device__ __forceinline__ void load_row_stats(float* slse, float* sdelta, const float* lse, const float* delta, int start,
                                               int q0, int count, int len, int heads, int head, int threads) {
    for (int i = threadIdx.x; i < count; i += threads) {
        const int t = q0 + i;
        const size_t stat = static_cast<size_t>(start + t) * heads + head;
        slse[i] = t < len ? lse[stat] : 0.0f;
        sdelta[i] = t < len ? delta[stat] : 0.0f;
    }
}

inline unsigned blocks_for(long long n, int threads) {
    return static_cast<unsigned>((n + threads - 1) / threads);
}

// Grid-stride loop bound for elementwise kernels: enough blocks to fill the device several times over.
inline unsigned elementwise_blocks(long long n, int threads) {
    const long long b = (n + threads - 1) / threads;
    return static_cast<unsigned>(b < 65535LL * 8 ? (b < 1 ? 1 : b) : 65535LL * 8);
}

}  // namespace coevo::kernels
