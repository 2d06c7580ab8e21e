// The SwiGLU gate of a Llama MLP, bf16 elementwise. Twin: src/Managed/OnnxCoEvo.Training/Cpu/SwiGlu.cs.
// Layout: gate, up, h, dh, dgate, dup [rows, width] bf16 (elementwise, so n = rows * width elements).
// Forward:  sig = 1 / (1 + exp(-g));  h = (g sig) u
// Backward: dsilu/dg = sig (1 + g (1 - sig))
//           dgate = dh u sig (1 + g (1 - sig));  dup = dh g sig
// 8 elements (16 bytes) per thread per step when n % 8 == 0, else one.
#include "coevo_kernels.h"
#include "common.cuh"

namespace coevo::kernels {
namespace {

__device__ __forceinline__ float sigmoid(float g) { return 1.0f / (1.0f + expf(-g)); }

template <int V>
__device__ __forceinline__ void load(const bf16* p, bf16 (&out)[V]) {
    if constexpr (V == 8) *reinterpret_cast<uint4*>(out) = *reinterpret_cast<const uint4*>(p);
    else out[0] = p[0];
}

template <int V>
__device__ __forceinline__ void store(bf16* p, const bf16 (&in)[V]) {
    if constexpr (V == 8) *reinterpret_cast<uint4*>(p) = *reinterpret_cast<const uint4*>(in);
    else p[0] = in[0];
}

template <int V>
__global__ void swiglu_forward_kernel(const bf16* __restrict__ gate, const bf16* __restrict__ up, bf16* __restrict__ h,
                                      long long groups) {
    for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < groups;
         i += static_cast<long long>(gridDim.x) * blockDim.x) {
        bf16 g[V], u[V], out[V];
        load<V>(gate + i * V, g);
        load<V>(up + i * V, u);
#pragma unroll
        for (int j = 0; j < V; j++) {
            const float gj = to_f32(g[j]);
            out[j] = to_bf16(gj * sigmoid(gj) * to_f32(u[j]));
        }
        store<V>(h + i * V, out);
    }
}

template <int V>
__global__ void swiglu_backward_kernel(const bf16* __restrict__ gate, const bf16* __restrict__ up,
                                       const bf16* __restrict__ dh, bf16* __restrict__ dgate, bf16* __restrict__ dup,
                                       long long groups) {
    for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < groups;
         i += static_cast<long long>(gridDim.x) * blockDim.x) {
        bf16 g[V], u[V], d[V], dg[V], du[V];
        load<V>(gate + i * V, g);
        load<V>(up + i * V, u);
        load<V>(dh + i * V, d);
#pragma unroll
        for (int j = 0; j < V; j++) {
            const float gj = to_f32(g[j]), dj = to_f32(d[j]), sig = sigmoid(gj);
            du[j] = to_bf16(dj * gj * sig);
            dg[j] = to_bf16(dj * to_f32(u[j]) * sig * (1.0f + gj * (1.0f - sig)));
        }
        store<V>(dgate + i * V, dg);
        store<V>(dup + i * V, du);
    }
}

}  // namespace

cudaError_t swiglu_forward(const bf16* gate, const bf16* up, bf16* h, long long n, cudaStream_t stream) {
    if (n % 8 == 0)
        swiglu_forward_kernel<8><<<elementwise_blocks(n / 8, 256), 256, 0, stream>>>(gate, up, h, n / 8);
    else
        swiglu_forward_kernel<1><<<elementwise_blocks(n, 256), 256, 0, stream>>>(gate, up, h, n);
    return cudaGetLastError();
}

cudaError_t swiglu_backward(const bf16* gate, const bf16* up, const bf16* dh, bf16* dgate, bf16* dup, long long n,
                            cudaStream_t stream) {
    if (n % 8 == 0)
        swiglu_backward_kernel<8><<<elementwise_blocks(n / 8, 256), 256, 0, stream>>>(gate, up, dh, dgate, dup, n / 8);
    else
        swiglu_backward_kernel<1><<<elementwise_blocks(n, 256), 256, 0, stream>>>(gate, up, dh, dgate, dup, n);
    return cudaGetLastError();
}

}  // namespace coevo::kernels
