// Rotary position embedding (Hugging Face Llama's rotate-half), bf16 in place. Twin:
// src/Managed/OnnxCoEvo.Training/Cpu/Rope.cs (Rope.Forward / Rope.Backward).
// Layout: x [T, heads, D] bf16 (q or k), positions [T] int32, cos/sin [P, D / 2] fp32 (RopeTable's tables).
// Forward, per pair (i, i + D/2) of each head, c = cos[pos, i], s = sin[pos, i]:
//   y[i] = x[i] c - x[i + D/2] s;   y[i + D/2] = x[i + D/2] c + x[i] s
// Backward: the rotation is orthogonal, so dx = R(-angle) dy: the same code with s negated.
// One thread per 8 consecutive pairs when D/2 % 8 == 0 (16-byte loads of each half), else one per pair.
#include "coevo_kernels.h"
#include "common.cuh"

namespace coevo::kernels {
namespace {

template <int V>
__global__ void rope_kernel(bf16* __restrict__ x, const int32_t* __restrict__ positions, const float* __restrict__ cos,
                            const float* __restrict__ sin, long long groups, int heads, int half, float sign) {
    const int groups_per_head = half / V;
    for (long long g = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; g < groups;
         g += static_cast<long long>(gridDim.x) * blockDim.x) {
        const long long head_row = g / groups_per_head;  // t * heads + h
        const int i0 = static_cast<int>(g % groups_per_head) * V;
        const int t = static_cast<int>(head_row / heads);
        const size_t table = static_cast<size_t>(positions[t]) * half + i0;
        bf16* a = x + head_row * 2 * half + i0;
        bf16* b = a + half;
        bf16 av[V], bv[V];
        if constexpr (V == 8) {
            *reinterpret_cast<uint4*>(av) = *reinterpret_cast<const uint4*>(a);
            *reinterpret_cast<uint4*>(bv) = *reinterpret_cast<const uint4*>(b);
        } else {
            av[0] = a[0];
            bv[0] = b[0];
        }
#pragma unroll
        for (int j = 0; j < V; j++) {
            const float c = cos[table + j], s = sign * sin[table + j];
            const float xa = to_f32(av[j]), xb = to_f32(bv[j]);
            av[j] = to_bf16(xa * c - xb * s);
            bv[j] = to_bf16(xb * c + xa * s);
        }
        if constexpr (V == 8) {
            *reinterpret_cast<uint4*>(a) = *reinterpret_cast<const uint4*>(av);
            *reinterpret_cast<uint4*>(b) = *reinterpret_cast<const uint4*>(bv);
        } else {
            a[0] = av[0];
            b[0] = bv[0];
        }
    }
}

}  // namespace

cudaError_t rope_apply(bf16* x, const int32_t* positions, const float* cos, const float* sin, int tokens, int heads,
                       int head_dim, bool inverse, cudaStream_t stream) {
    const int half = head_dim / 2;
    const float sign = inverse ? -1.0f : 1.0f;
    const long long rows = static_cast<long long>(tokens) * heads;
    if (half % 8 == 0) {
        const long long groups = rows * (half / 8);
        rope_kernel<8><<<elementwise_blocks(groups, 256), 256, 0, stream>>>(x, positions, cos, sin, groups, heads, half, sign);
    } else {
        const long long groups = rows * half;
        rope_kernel<1><<<elementwise_blocks(groups, 256), 256, 0, stream>>>(x, positions, cos, sin, groups, heads, half, sign);
    }
    return cudaGetLastError();
}

}  // namespace coevo::kernels
