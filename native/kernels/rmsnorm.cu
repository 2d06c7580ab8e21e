// RMSNorm forward, fp32. Twin: src/Managed/OnnxCoEvo.Training/Cpu/RmsNorm.cs (same maths, same order of
// operations: sum of squares in fp32, rstd = 1 / sqrt(sum / dim + eps), y = (x * rstd) * w).
//
// Layout: x, y [rows, dim] row-major (element (r, c) at r * dim + c); w [dim]; rstd [rows].
//
// Backward (the kernel that comes later; written here so forward and backward agree on what is saved):
//   with g = dy * w (per element) and r = rstd[row],
//   dx[c] = r * g[c] - x[c] * (r^3 / dim) * sum_k g[k] * x[k]
//   dw[c] = sum over rows of dy[c] * x[c] * r
//   (dr/dx_c = -r^3 * x_c / dim, since r = (mean(x^2) + eps)^(-1/2).)
//
// Two shapes of launch:
//   - warp per row (dim <= 1024): 4 warps per block, each warp owns one row; reduction by warp shuffles only.
//   - block per row (dim > 1024): 256 threads per row; warp shuffles, then the per-warp partials through shared
//     memory, read back by every warp so each thread ends with the full sum (no second barrier).
// Both read x twice (the second read hits L1/L2) and load float4 when dim % 4 == 0 and the pointers are 16-byte
// aligned (always true for coevo_buffer starts), else scalar floats.

#include "rmsnorm.h"

#include "coevo_kernels.h"
#include "common.cuh"

#include <cstdint>

namespace coevo::kernels {
namespace {

constexpr int kWarpRowsPerBlock = 4;     // warp-per-row kernel: 128 threads = 4 rows per block
constexpr int kBlockThreads = 256;       // block-per-row kernel
constexpr int kWarpPerRowMaxDim = 1024;  // up to 32 floats per lane

// Sum of x[i]^2 over the indices i = first, first + stride, ... of one row (in float4 units when Vec4).
template <bool Vec4>
__device__ __forceinline__ float partial_sum_squares(const float* __restrict__ xr, int dim, int first, int stride) {
    float acc = 0.0f;
    if constexpr (Vec4) {
        const float4* x4 = reinterpret_cast<const float4*>(xr);
        const int n4 = dim / 4;
        for (int i = first; i < n4; i += stride) {
            const float4 v = x4[i];
            acc += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
        }
    } else {
        for (int i = first; i < dim; i += stride) {
            const float v = xr[i];
            acc += v * v;
        }
    }
    return acc;
}

// y = (x * r) * w over the same index set as partial_sum_squares.
template <bool Vec4>
__device__ __forceinline__ void scale_row(const float* __restrict__ xr, const float* __restrict__ w,
                                          float* __restrict__ yr, float r, int dim, int first, int stride) {
    if constexpr (Vec4) {
        const float4* x4 = reinterpret_cast<const float4*>(xr);
        const float4* w4 = reinterpret_cast<const float4*>(w);
        float4* y4 = reinterpret_cast<float4*>(yr);
        const int n4 = dim / 4;
        for (int i = first; i < n4; i += stride) {
            const float4 v = x4[i];
            const float4 g = w4[i];
            y4[i] = make_float4(v.x * r * g.x, v.y * r * g.y, v.z * r * g.z, v.w * r * g.w);
        }
    } else {
        for (int i = first; i < dim; i += stride) yr[i] = xr[i] * r * w[i];
    }
}

__device__ __forceinline__ float inverse_rms(float sum_squares, int dim, float eps) {
    // 1/sqrtf (IEEE-rounded sqrt and division under nvcc's defaults) rather than rsqrtf: one per row, and it
    // matches the CPU twin's 1f / MathF.Sqrt bit for bit given the same sum.
    return 1.0f / sqrtf(sum_squares / static_cast<float>(dim) + eps);
}

template <bool Vec4>
__global__ void __launch_bounds__(kWarpRowsPerBlock * 32)
    rmsnorm_forward_warp_per_row(const float* __restrict__ x, const float* __restrict__ w, float* __restrict__ y,
                                 float* __restrict__ rstd, int rows, int dim, float eps) {
    const int lane = threadIdx.x & 31;
    const int row = blockIdx.x * kWarpRowsPerBlock + (threadIdx.x >> 5);
    if (row >= rows) return;  // whole warp leaves together; no block-level barrier follows
    const size_t base = static_cast<size_t>(row) * static_cast<size_t>(dim);
    const float* xr = x + base;
    const float r = inverse_rms(warp_sum(partial_sum_squares<Vec4>(xr, dim, lane, 32)), dim, eps);
    if (lane == 0) rstd[row] = r;
    scale_row<Vec4>(xr, w, y + base, r, dim, lane, 32);
}

template <bool Vec4>
__global__ void __launch_bounds__(kBlockThreads)
    rmsnorm_forward_block_per_row(const float* __restrict__ x, const float* __restrict__ w, float* __restrict__ y,
                                  float* __restrict__ rstd, int rows, int dim, float eps) {
    constexpr int kWarps = kBlockThreads / 32;
    __shared__ float warp_partials[kWarps];
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int row = blockIdx.x;  // grid = rows, so always in range
    const size_t base = static_cast<size_t>(row) * static_cast<size_t>(dim);
    const float* xr = x + base;

    float s = warp_sum(partial_sum_squares<Vec4>(xr, dim, threadIdx.x, kBlockThreads));
    if (lane == 0) warp_partials[warp] = s;
    __syncthreads();
    s = warp_sum(lane < kWarps ? warp_partials[lane] : 0.0f);  // every warp folds the partials: all see the total

    const float r = inverse_rms(s, dim, eps);
    if (threadIdx.x == 0) rstd[row] = r;
    scale_row<Vec4>(xr, w, y + base, r, dim, threadIdx.x, kBlockThreads);
}

template <bool Vec4>
void launch(const float* x, const float* w, float* y, float* rstd, int rows, int dim, float eps, cudaStream_t stream) {
    if (dim <= kWarpPerRowMaxDim) {
        const unsigned blocks = static_cast<unsigned>((rows + kWarpRowsPerBlock - 1) / kWarpRowsPerBlock);
        rmsnorm_forward_warp_per_row<Vec4><<<blocks, kWarpRowsPerBlock * 32, 0, stream>>>(x, w, y, rstd, rows, dim, eps);
    } else {
        rmsnorm_forward_block_per_row<Vec4><<<static_cast<unsigned>(rows), kBlockThreads, 0, stream>>>(x, w, y, rstd,
                                                                                                  rows, dim, eps);
    }
}

bool aligned16(const void* p) { return (reinterpret_cast<std::uintptr_t>(p) & 15u) == 0; }

}  // namespace

cudaError_t rmsnorm_forward_f32(const float* x, const float* w, float* y, float* rstd, int rows, int dim, float eps,
                                cudaStream_t stream) {
    const bool vec4 = (dim % 4 == 0) && aligned16(x) && aligned16(w) && aligned16(y);
    if (vec4) {
        launch<true>(x, w, y, rstd, rows, dim, eps, stream);
    } else {
        launch<false>(x, w, y, rstd, rows, dim, eps, stream);
    }
    return cudaGetLastError();
}

// ---- bf16 storage (the training path): x, y, dy, dx, w bf16; rstd, dw fp32; one block of 256 threads per row ----
// Forward as above, y rounded once to bf16. Backward, per row (g = dy * w, r = rstd):
//   dx = r g - x (r^3 / dim) sum_k g[k] x[k]        (written, or added to dx when accumulate: the residual stream)
//   dw += sum over rows of dy x r                   (rows in chunks of a fixed size; partials [chunks, dim] then
//                                                    summed in chunk order: deterministic)
namespace {

constexpr int kBf16Threads = 256;
constexpr int kDwChunks = 64;

// Rows whose length is a multiple of 8 move as 16-byte chunks of 8 bf16, kept in registers between the two passes
// (V chunks per thread: dim <= V * 8 * 256); other rows take the scalar kernels below.
constexpr int kMaxChunksPerThread = 4;

__device__ __forceinline__ void unpack8(const uint4& u, float (&f)[8]) {
    const bf16* h = reinterpret_cast<const bf16*>(&u);
#pragma unroll
    for (int k = 0; k < 8; k++) f[k] = to_f32(h[k]);
}

__device__ __forceinline__ uint4 pack8(const float (&f)[8]) {
    uint4 u;
    bf16* h = reinterpret_cast<bf16*>(&u);
#pragma unroll
    for (int k = 0; k < 8; k++) h[k] = to_bf16(f[k]);
    return u;
}

template <int V>
__global__ void __launch_bounds__(kBf16Threads)
    rmsnorm_forward_bf16_vec(const bf16* __restrict__ x, const bf16* __restrict__ w, bf16* __restrict__ y,
                             float* __restrict__ rstd, int dim, float eps) {
    __shared__ float scratch[32];
    const size_t base = static_cast<size_t>(blockIdx.x) * dim;
    const int chunks = dim >> 3;
    const uint4* xr = reinterpret_cast<const uint4*>(x + base);
    uint4 cache[V];
    float ss = 0.0f;
#pragma unroll
    for (int j = 0; j < V; j++) {
        const int c = threadIdx.x + j * kBf16Threads;
        if (c < chunks) {
            cache[j] = xr[c];
            float f[8];
            unpack8(cache[j], f);
#pragma unroll
            for (int k = 0; k < 8; k++) ss += f[k] * f[k];
        }
    }
    const float r = inverse_rms(block_sum(ss, scratch), dim, eps);
    if (threadIdx.x == 0) rstd[blockIdx.x] = r;
    const uint4* w8 = reinterpret_cast<const uint4*>(w);
    uint4* yr = reinterpret_cast<uint4*>(y + base);
#pragma unroll
    for (int j = 0; j < V; j++) {
        const int c = threadIdx.x + j * kBf16Threads;
        if (c < chunks) {
            float f[8], g[8];
            unpack8(cache[j], f);
            unpack8(w8[c], g);
#pragma unroll
            for (int k = 0; k < 8; k++) f[k] = f[k] * r * g[k];
            yr[c] = pack8(f);
        }
    }
}

template <int V>
__global__ void __launch_bounds__(kBf16Threads)
    rmsnorm_backward_dx_vec(const bf16* __restrict__ x, const bf16* __restrict__ w, const float* __restrict__ rstd,
                            const bf16* __restrict__ dy, bf16* __restrict__ dx, int dim, bool accumulate) {
    __shared__ float scratch[32];
    const size_t base = static_cast<size_t>(blockIdx.x) * dim;
    const int chunks = dim >> 3;
    const uint4* xr = reinterpret_cast<const uint4*>(x + base);
    const uint4* dyr = reinterpret_cast<const uint4*>(dy + base);
    const uint4* w8 = reinterpret_cast<const uint4*>(w);
    uint4 xc[V], dyc[V];
    const float r = rstd[blockIdx.x];
    float dot = 0.0f;
#pragma unroll
    for (int j = 0; j < V; j++) {
        const int c = threadIdx.x + j * kBf16Threads;
        if (c < chunks) {
            xc[j] = xr[c];
            dyc[j] = dyr[c];
            float xf[8], df[8], wf[8];
            unpack8(xc[j], xf);
            unpack8(dyc[j], df);
            unpack8(w8[c], wf);
#pragma unroll
            for (int k = 0; k < 8; k++) dot += df[k] * wf[k] * xf[k];
        }
    }
    const float coefficient = r * r * r / static_cast<float>(dim) * block_sum(dot, scratch);
    uint4* dxr = reinterpret_cast<uint4*>(dx + base);
#pragma unroll
    for (int j = 0; j < V; j++) {
        const int c = threadIdx.x + j * kBf16Threads;
        if (c < chunks) {
            float xf[8], df[8], wf[8], old[8];
            unpack8(xc[j], xf);
            unpack8(dyc[j], df);
            unpack8(w8[c], wf);
            if (accumulate) unpack8(dxr[c], old);
#pragma unroll
            for (int k = 0; k < 8; k++) {
                df[k] = r * (df[k] * wf[k]) - xf[k] * coefficient;
                if (accumulate) df[k] += old[k];
            }
            dxr[c] = pack8(df);
        }
    }
}

__global__ void __launch_bounds__(kBf16Threads)
    rmsnorm_forward_bf16_kernel(const bf16* __restrict__ x, const bf16* __restrict__ w, bf16* __restrict__ y,
                                float* __restrict__ rstd, int dim, float eps) {
    __shared__ float scratch[32];
    const size_t base = static_cast<size_t>(blockIdx.x) * dim;
    float ss = 0.0f;
    for (int c = threadIdx.x; c < dim; c += kBf16Threads) {
        const float v = to_f32(x[base + c]);
        ss += v * v;
    }
    const float r = inverse_rms(block_sum(ss, scratch), dim, eps);
    if (threadIdx.x == 0) rstd[blockIdx.x] = r;
    for (int c = threadIdx.x; c < dim; c += kBf16Threads) y[base + c] = to_bf16(to_f32(x[base + c]) * r * to_f32(w[c]));
}

__global__ void __launch_bounds__(kBf16Threads)
    rmsnorm_backward_dx_kernel(const bf16* __restrict__ x, const bf16* __restrict__ w, const float* __restrict__ rstd,
                               const bf16* __restrict__ dy, bf16* __restrict__ dx, int dim, bool accumulate) {
    __shared__ float scratch[32];
    const size_t base = static_cast<size_t>(blockIdx.x) * dim;
    const float r = rstd[blockIdx.x];
    float dot = 0.0f;
    for (int c = threadIdx.x; c < dim; c += kBf16Threads) dot += to_f32(dy[base + c]) * to_f32(w[c]) * to_f32(x[base + c]);
    const float coefficient = r * r * r / static_cast<float>(dim) * block_sum(dot, scratch);
    for (int c = threadIdx.x; c < dim; c += kBf16Threads) {
        float g = r * (to_f32(dy[base + c]) * to_f32(w[c])) - to_f32(x[base + c]) * coefficient;
        if (accumulate) g += to_f32(dx[base + c]);
        dx[base + c] = to_bf16(g);
    }
}

// partials[chunk, c] = sum over the chunk's rows (in order) of dy x r.
__global__ void rmsnorm_dw_partial_kernel(const bf16* __restrict__ x, const float* __restrict__ rstd,
                                          const bf16* __restrict__ dy, float* __restrict__ partials, int rows, int dim,
                                          int rows_per_chunk) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x, chunk = blockIdx.y;
    if (c >= dim) return;
    const int first = chunk * rows_per_chunk, last = min(rows, first + rows_per_chunk);
    float acc = 0.0f;
    for (int r = first; r < last; r++) {
        const size_t i = static_cast<size_t>(r) * dim + c;
        acc += to_f32(dy[i]) * (to_f32(x[i]) * rstd[r]);
    }
    partials[static_cast<size_t>(chunk) * dim + c] = acc;
}

__global__ void rmsnorm_dw_sum_kernel(const float* __restrict__ partials, float* __restrict__ dw, int dim, int chunks) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= dim) return;
    float acc = dw[c];
    for (int k = 0; k < chunks; k++) acc += partials[static_cast<size_t>(k) * dim + c];
    dw[c] = acc;
}

}  // namespace

int rmsnorm_dw_chunks(int rows) { return rows < kDwChunks ? rows : kDwChunks; }

namespace {

// Chunks of 8 per thread for the vector kernels, or 0 when the row does not suit them.
int vector_chunks(int dim) {
    if (dim % 8 != 0) return 0;
    const int per_thread = (dim / 8 + kBf16Threads - 1) / kBf16Threads;
    return per_thread <= kMaxChunksPerThread ? per_thread : 0;
}

}  // namespace

cudaError_t rmsnorm_forward_bf16(const bf16* x, const bf16* w, bf16* y, float* rstd, int rows, int dim, float eps,
                                 cudaStream_t stream) {
    switch (vector_chunks(dim)) {
        case 1: rmsnorm_forward_bf16_vec<1><<<rows, kBf16Threads, 0, stream>>>(x, w, y, rstd, dim, eps); break;
        case 2: rmsnorm_forward_bf16_vec<2><<<rows, kBf16Threads, 0, stream>>>(x, w, y, rstd, dim, eps); break;
        case 3: rmsnorm_forward_bf16_vec<3><<<rows, kBf16Threads, 0, stream>>>(x, w, y, rstd, dim, eps); break;
        case 4: rmsnorm_forward_bf16_vec<4><<<rows, kBf16Threads, 0, stream>>>(x, w, y, rstd, dim, eps); break;
        default: rmsnorm_forward_bf16_kernel<<<rows, kBf16Threads, 0, stream>>>(x, w, y, rstd, dim, eps); break;
    }
    return cudaGetLastError();
}

cudaError_t rmsnorm_backward_bf16(const bf16* x, const bf16* w, const float* rstd, const bf16* dy, bf16* dx,
                                  float* dw, float* dw_partials, int rows, int dim, bool accumulate_dx,
                                  cudaStream_t stream) {
    if (dx != nullptr) {
        const bool acc = accumulate_dx;
        switch (vector_chunks(dim)) {
            case 1: rmsnorm_backward_dx_vec<1><<<rows, kBf16Threads, 0, stream>>>(x, w, rstd, dy, dx, dim, acc); break;
            case 2: rmsnorm_backward_dx_vec<2><<<rows, kBf16Threads, 0, stream>>>(x, w, rstd, dy, dx, dim, acc); break;
            case 3: rmsnorm_backward_dx_vec<3><<<rows, kBf16Threads, 0, stream>>>(x, w, rstd, dy, dx, dim, acc); break;
            case 4: rmsnorm_backward_dx_vec<4><<<rows, kBf16Threads, 0, stream>>>(x, w, rstd, dy, dx, dim, acc); break;
            default: rmsnorm_backward_dx_kernel<<<rows, kBf16Threads, 0, stream>>>(x, w, rstd, dy, dx, dim, acc); break;
        }
        const cudaError_t e = cudaGetLastError();
        if (e != cudaSuccess) return e;
    }
    if (dw != nullptr) {
        const int chunks = rmsnorm_dw_chunks(rows), per_chunk = (rows + chunks - 1) / chunks;
        rmsnorm_dw_partial_kernel<<<dim3(blocks_for(dim, 256), chunks), 256, 0, stream>>>(x, rstd, dy, dw_partials, rows,
                                                                                          dim, per_chunk);
        const cudaError_t e = cudaGetLastError();
        if (e != cudaSuccess) return e;
        rmsnorm_dw_sum_kernel<<<blocks_for(dim, 256), 256, 0, stream>>>(dw_partials, dw, dim, chunks);
    }
    return cudaGetLastError();
}

}  // namespace coevo::kernels
