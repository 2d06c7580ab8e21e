// Causal grouped-query attention on tensor cores (WMMA m16n16k16, bf16 operands, fp32 accumulators): the second
// implementation of the attention family, chosen with coevo_context_set_attention_kernel. Same twin, layout, saved lse
// and maths as attention.cu (see there); what differs is how the products run:
//   forward:  per block 64 query rows of one (sequence, head), 16 per warp; key tiles of 64. Per warp and tile:
//             S = Q K^T on tensor cores into fp32 shared memory; lanes (two per row, 32 columns each) apply scale,
//             mask and the online softmax, write P as bf16 (FlashAttention-2 also feeds P V with bf16 P) and rescale
//             the fp32 output rows by e^(m - m'); then O += P V on tensor cores, O living in shared memory (its rows
//             must be rescaled, which a WMMA accumulator's opaque layout does not allow).
//   dq:       per block 64 query rows (16 per warp), key tiles of 64: S = Q K^T, dP = dO V^T (tensor cores), lanes
//             form dS = P (dP - delta) in bf16, dQ += dS K with the accumulators in registers across key tiles.
//   dk, dv:   per block 64 key rows of one kv head (16 per warp), over the group's query heads and query tiles of 64:
//             S^T = K Q^T, dP^T = V dO^T, P^T and dS^T in bf16 by lanes, dV += P^T dO, dK += dS^T Q in registers.
// Shared rows of bf16 are padded to D + 8 elements (16 bytes: WMMA's leading-dimension rule, fewer bank conflicts).
#include <mma.h>

#include "coevo_kernels.h"
#include "common.cuh"

namespace coevo::kernels {
namespace {

using namespace nvcuda;

constexpr int kWarps = 4, kThreads = kWarps * 32, kRows = 16 * kWarps, kTile = 64;
constexpr int kLdS = kTile + 4;  // fp32 score rows
constexpr int kLdP = kTile + 8;  // bf16 probability rows

using FragA = wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major>;
using FragBRow = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major>;
using FragBCol = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major>;
using FragC = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;

__device__ __forceinline__ bool visible(int s, int t, int window) { return s <= t && (window <= 0 || t - s < window); }

// Copies rows [first, first + kTile) of one head into shared memory (pitch D + 8), 16 bytes at a time; rows at or
// past len are zero.
template <int D>
__device__ __forceinline__ void load_tile(bf16* dst, const bf16* src, int start, int first, int len, int heads, int head) {
    constexpr int kChunks = D / 8;
    for (int i = threadIdx.x; i < kTile * kChunks; i += kThreads) {
        const int r = i / kChunks, c = i % kChunks, t = first + r;
        uint4 value = make_uint4(0, 0, 0, 0);
        if (t < len) value = reinterpret_cast<const uint4*>(src + (static_cast<size_t>(start + t) * heads + head) * D)[c];
        *reinterpret_cast<uint4*>(dst + r * (D + 8) + c * 8) = value;
    }
}

// Waits until the block is done with the previous key tile, loads rows [k0, k0 + kTile) of K and V, waits again.
template <int D>
__device__ __forceinline__ void next_kv_tile(bf16* sk, bf16* sv, const bf16* k, const bf16* v, int start, int k0, int len,
                                             int kv_heads, int kvh) {
    __syncthreads();
    load_tile<D>(sk, k, start, k0, len, kv_heads, kvh);
    load_tile<D>(sv, v, start, k0, len, kv_heads, kvh);
    __syncthreads();
}

// The first key tile any query row in [q0, q0 + kRows) can see.
__device__ __forceinline__ int first_key_tile(int q0, int window) {
    return window > 0 ? max(0, q0 - window + 1) / kTile * kTile : 0;
}

// out [16, kTile] (fp32, ld kLdS) = A [16, D] B^T, A rows at a (ld D + 8), B rows (kTile of them) at b (ld D + 8).
template <int D>
__device__ __forceinline__ void product_abt(const bf16* a, const bf16* b, float* out) {
#pragma unroll
    for (int n = 0; n < kTile / 16; n++) {
        FragC acc;
        wmma::fill_fragment(acc, 0.0f);
#pragma unroll
        for (int k = 0; k < D / 16; k++) {
            FragA fa;
            FragBCol fb;
            wmma::load_matrix_sync(fa, a + k * 16, D + 8);
            wmma::load_matrix_sync(fb, b + n * 16 * (D + 8) + k * 16, D + 8);
            wmma::mma_sync(acc, fa, fb, acc);
        }
        wmma::store_matrix_sync(out + n * 16, acc, kLdS, wmma::mem_row_major);
    }
}

// acc[j] (16 x 16 blocks of a [16, D] result) += P [16, kTile] (bf16, ld kLdP) B [kTile, D] (rows ld D + 8).
template <int D>
__device__ __forceinline__ void accumulate_pb(FragC (&acc)[D / 16], const bf16* p, const bf16* b) {
#pragma unroll
    for (int k = 0; k < kTile / 16; k++) {
        FragA fa;
        wmma::load_matrix_sync(fa, p + k * 16, kLdP);
#pragma unroll
        for (int j = 0; j < D / 16; j++) {
            FragBRow fb;
            wmma::load_matrix_sync(fb, b + k * 16 * (D + 8) + j * 16, D + 8);
            wmma::mma_sync(acc[j], fa, fb, acc[j]);
        }
    }
}

// Scales a [16, D] accumulator by `scale` and writes it as bf16 rows of the global tensor (rows past len skipped),
// through the warp's fp32 staging area (ld D + 4).
template <int D>
__device__ __forceinline__ void store_rows(FragC (&acc)[D / 16], float* staging, bf16* dst, int start, int first, int len,
                                           int heads, int head, float scale) {
#pragma unroll
    for (int j = 0; j < D / 16; j++) wmma::store_matrix_sync(staging + j * 16, acc[j], D + 4, wmma::mem_row_major);
    __syncwarp();
    const int lane = threadIdx.x & 31;
    for (int i = lane; i < 16 * D; i += 32) {
        const int r = i / D, c = i % D, t = first + r;
        if (t < len) dst[(static_cast<size_t>(start + t) * heads + head) * D + c] = to_bf16(staging[r * (D + 4) + c] * scale);
    }
}

template <int D>
__global__ void __launch_bounds__(kThreads)
    attention_forward_tc(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v,
                         const int* __restrict__ cu, bf16* __restrict__ o, float* __restrict__ lse, int heads,
                         int kv_heads, float scale, int window) {
    constexpr int L = D + 8, LO = D + 4;
    extern __shared__ __align__(32) unsigned char raw[];
    bf16* sq = reinterpret_cast<bf16*>(raw);
    bf16* sk = sq + kRows * L;
    bf16* sv = sk + kTile * L;
    float* ss = reinterpret_cast<float*>(sv + kTile * L);  // [warps][16][kLdS]
    float* so = ss + kWarps * 16 * kLdS;                    // [warps][16][LO]
    bf16* sp = reinterpret_cast<bf16*>(so + kWarps * 16 * LO);  // [warps][16][kLdP]
    const int seq = blockIdx.y, head = blockIdx.z, start = cu[seq], len = cu[seq + 1] - start, q0 = blockIdx.x * kRows;
    if (q0 >= len) return;
    const int kvh = head / (heads / kv_heads), warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int r = lane >> 1, half = lane & 1, t = q0 + warp * 16 + r;  // this lane's row and column half
    float* ws = ss + warp * 16 * kLdS;
    float* wo = so + warp * 16 * LO;
    bf16* wp = sp + warp * 16 * kLdP;
    load_tile<D>(sq, q, start, q0, len, heads, head);
    for (int i = lane; i < 16 * D; i += 32) wo[(i / D) * LO + i % D] = 0.0f;
    float m = -INFINITY, l = 0.0f;
    const int q_last = min(q0 + kRows, len) - 1;
    for (int k0 = first_key_tile(q0, window); k0 <= q_last; k0 += kTile) {
        next_kv_tile<D>(sk, sv, k, v, start, k0, len, kv_heads, kvh);
        product_abt<D>(sq + warp * 16 * L, sk, ws);
        __syncwarp();
        float tile_max = -INFINITY;
        for (int c = half * 32; c < half * 32 + 32; c++) {
            const int key = k0 + c;
            const float s = (key < len && visible(key, t, window)) ? ws[r * kLdS + c] * scale : -INFINITY;
            ws[r * kLdS + c] = s;
            tile_max = fmaxf(tile_max, s);
        }
        tile_max = fmaxf(tile_max, __shfl_xor_sync(kFullMask, tile_max, 1));
        const float m_new = fmaxf(m, tile_max);
        const float alpha = m == -INFINITY ? 0.0f : expf(m - m_new);
        float psum = 0.0f;
        for (int c = half * 32; c < half * 32 + 32; c++) {
            const float s = ws[r * kLdS + c];
            const float p = s == -INFINITY ? 0.0f : expf(s - m_new);
            wp[r * kLdP + c] = to_bf16(p);
            psum += p;  // fp32, as FlashAttention-2's row sum (P V then uses the bf16 P)
        }
        psum += __shfl_xor_sync(kFullMask, psum, 1);
        l = l * alpha + psum;
        m = m_new;
        for (int c = half * (D / 2); c < half * (D / 2) + D / 2; c++) wo[r * LO + c] *= alpha;
        __syncwarp();
#pragma unroll
        for (int j = 0; j < D / 16; j++) {
            FragC acc;
            wmma::load_matrix_sync(acc, wo + j * 16, LO, wmma::mem_row_major);
#pragma unroll
            for (int kk = 0; kk < kTile / 16; kk++) {
                FragA fa;
                FragBRow fb;
                wmma::load_matrix_sync(fa, wp + kk * 16, kLdP);
                wmma::load_matrix_sync(fb, sv + kk * 16 * L + j * 16, L);
                wmma::mma_sync(acc, fa, fb, acc);
            }
            wmma::store_matrix_sync(wo + j * 16, acc, LO, wmma::mem_row_major);
        }
        __syncwarp();
    }
    if (t < len) {
        const float inv = 1.0f / l;
        bf16* out = o + (static_cast<size_t>(start + t) * heads + head) * D;
        for (int c = half * (D / 2); c < half * (D / 2) + D / 2; c++) out[c] = to_bf16(wo[r * LO + c] * inv);
        if (half == 0) lse[static_cast<size_t>(start + t) * heads + head] = m + logf(l);
    }
}

template <int D>
__global__ void __launch_bounds__(kThreads)
    attention_dq_tc(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v,
                    const bf16* __restrict__ dout, const float* __restrict__ lse, const float* __restrict__ delta,
                    const int* __restrict__ cu, bf16* __restrict__ dq, int heads, int kv_heads, float scale, int window) {
    constexpr int L = D + 8;
    extern __shared__ __align__(32) unsigned char raw[];
    bf16* sq = reinterpret_cast<bf16*>(raw);
    bf16* sdo = sq + kRows * L;
    bf16* sk = sdo + kRows * L;
    bf16* sv = sk + kTile * L;
    float* ss = reinterpret_cast<float*>(sv + kTile * L);  // [warps][16][kLdS] scores, then dq staging
    float* sdp = ss + kWarps * 16 * kLdS;                    // [warps][16][kLdS]
    bf16* sds = reinterpret_cast<bf16*>(sdp + kWarps * 16 * kLdS);  // [warps][16][kLdP]
    const int seq = blockIdx.y, head = blockIdx.z, start = cu[seq], len = cu[seq + 1] - start, q0 = blockIdx.x * kRows;
    if (q0 >= len) return;
    const int kvh = head / (heads / kv_heads), warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int r = lane >> 1, half = lane & 1, t = q0 + warp * 16 + r;
    static_assert(2 * 16 * kLdS >= 16 * (D + 4), "the score buffers must hold the result staging");
    float* ws = ss + warp * 16 * kLdS;
    float* wdp = sdp + warp * 16 * kLdS;
    bf16* wds = sds + warp * 16 * kLdP;
    load_tile<D>(sq, q, start, q0, len, heads, head);
    load_tile<D>(sdo, dout, start, q0, len, heads, head);
    const size_t stat = static_cast<size_t>(start + t) * heads + head;
    const float row_lse = t < len ? lse[stat] : 0.0f, row_delta = t < len ? delta[stat] : 0.0f;
    FragC acc[D / 16];
#pragma unroll
    for (int j = 0; j < D / 16; j++) wmma::fill_fragment(acc[j], 0.0f);
    const int q_last = min(q0 + kRows, len) - 1;
    for (int k0 = first_key_tile(q0, window); k0 <= q_last; k0 += kTile) {
        next_kv_tile<D>(sk, sv, k, v, start, k0, len, kv_heads, kvh);
        product_abt<D>(sq + warp * 16 * L, sk, ws);
        product_abt<D>(sdo + warp * 16 * L, sv, wdp);
        __syncwarp();
        for (int c = half * 32; c < half * 32 + 32; c++) {
            const int key = k0 + c;
            float ds = 0.0f;
            if (t < len && key < len && visible(key, t, window)) {
                const float p = expf(ws[r * kLdS + c] * scale - row_lse);
                ds = p * (wdp[r * kLdS + c] - row_delta);
            }
            wds[r * kLdP + c] = to_bf16(ds);
        }
        __syncwarp();
        accumulate_pb<D>(acc, wds, sk);
    }
    // Staging for the result rows reuses the score buffers (ss and sdp together hold 4 x 16 x (D + 4) floats), once
    // every warp is past its last tile.
    __syncthreads();
    store_rows<D>(acc, ss + warp * 16 * (D + 4), dq, start, q0 + warp * 16, len, heads, head, scale);
}

template <int D>
__global__ void __launch_bounds__(kThreads)
    attention_dkdv_tc(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v,
                      const bf16* __restrict__ dout, const float* __restrict__ lse, const float* __restrict__ delta,
                      const int* __restrict__ cu, bf16* __restrict__ dk, bf16* __restrict__ dv, int heads, int kv_heads,
                      float scale, int window) {
    constexpr int L = D + 8;
    extern __shared__ __align__(32) unsigned char raw[];
    bf16* sk = reinterpret_cast<bf16*>(raw);
    bf16* sv = sk + kRows * L;
    bf16* sq = sv + kRows * L;
    bf16* sdo = sq + kTile * L;
    float* ss = reinterpret_cast<float*>(sdo + kTile * L);  // [warps][16][kLdS] S^T, then staging
    float* sdp = ss + kWarps * 16 * kLdS;                      // [warps][16][kLdS] dP^T
    bf16* sp = reinterpret_cast<bf16*>(sdp + kWarps * 16 * kLdS);  // [warps][16][kLdP] P^T
    bf16* sds = sp + kWarps * 16 * kLdP;                            // [warps][16][kLdP] dS^T
    float* slse = reinterpret_cast<float*>(sds + kWarps * 16 * kLdP);
    float* sdelta = slse + kTile;
    const int seq = blockIdx.y, kvh = blockIdx.z, start = cu[seq], len = cu[seq + 1] - start, k0 = blockIdx.x * kRows;
    if (k0 >= len) return;
    const int group = heads / kv_heads, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int r = lane >> 1, half = lane & 1, key = k0 + warp * 16 + r;
    float* ws = ss + warp * 16 * kLdS;
    float* wdp = sdp + warp * 16 * kLdS;
    bf16* wp = sp + warp * 16 * kLdP;
    bf16* wds = sds + warp * 16 * kLdP;
    load_tile<D>(sk, k, start, k0, len, kv_heads, kvh);
    load_tile<D>(sv, v, start, k0, len, kv_heads, kvh);
    FragC dk_acc[D / 16], dv_acc[D / 16];
#pragma unroll
    for (int j = 0; j < D / 16; j++) {
        wmma::fill_fragment(dk_acc[j], 0.0f);
        wmma::fill_fragment(dv_acc[j], 0.0f);
    }
    const int q_end = window > 0 ? min(len, k0 + kRows - 1 + window) : len;
    for (int head = kvh * group; head < (kvh + 1) * group; head++) {
        for (int q0 = k0 / kTile * kTile; q0 < q_end; q0 += kTile) {
            __syncthreads();
            load_tile<D>(sq, q, start, q0, len, heads, head);
            load_tile<D>(sdo, dout, start, q0, len, heads, head);
            load_row_stats(slse, sdelta, lse, delta, start, q0, kTile, len, heads, head, kThreads);
            __syncthreads();
            product_abt<D>(sk + warp * 16 * L, sq, ws);   // S^T [16 keys, 64 queries]
            product_abt<D>(sv + warp * 16 * L, sdo, wdp); // dP^T
            __syncwarp();
            for (int c = half * 32; c < half * 32 + 32; c++) {
                const int t = q0 + c;
                float p = 0.0f, ds = 0.0f;
                if (key < len && t < len && visible(key, t, window)) {
                    p = expf(ws[r * kLdS + c] * scale - slse[c]);
                    ds = p * (wdp[r * kLdS + c] - sdelta[c]);
                }
                wp[r * kLdP + c] = to_bf16(p);
                wds[r * kLdP + c] = to_bf16(ds);
            }
            __syncwarp();
            accumulate_pb<D>(dv_acc, wp, sdo);
            accumulate_pb<D>(dk_acc, wds, sq);
        }
    }
    __syncthreads();  // staging reuses ss and sdp (see attention_dq_tc)
    float* staging = ss + warp * 16 * (D + 4);
    store_rows<D>(dk_acc, staging, dk, start, k0 + warp * 16, len, kv_heads, kvh, scale);
    __syncwarp();
    store_rows<D>(dv_acc, staging, dv, start, k0 + warp * 16, len, kv_heads, kvh, 1.0f);
}

template <int D>
constexpr size_t forward_tc_smem() {
    return sizeof(bf16) * (kRows + 2 * kTile) * (D + 8) + sizeof(float) * kWarps * 16 * (kLdS + D + 4) +
           sizeof(bf16) * kWarps * 16 * kLdP;
}
template <int D>
constexpr size_t dq_tc_smem() {
    return sizeof(bf16) * (2 * kRows + 2 * kTile) * (D + 8) + sizeof(float) * kWarps * 16 * 2 * kLdS +
           sizeof(bf16) * kWarps * 16 * kLdP;
}
template <int D>
constexpr size_t dkdv_tc_smem() {
    return sizeof(bf16) * (2 * kRows + 2 * kTile) * (D + 8) + sizeof(float) * kWarps * 16 * 2 * kLdS +
           sizeof(bf16) * kWarps * 16 * 2 * kLdP + sizeof(float) * 2 * kTile;
}

template <typename Kernel>
cudaError_t allow_smem(Kernel kernel, size_t bytes) {
    return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
}

template <int D>
cudaError_t forward_tc(const AttentionShape& a, const bf16* q, const bf16* k, const bf16* v, bf16* o, float* lse,
                       cudaStream_t stream) {
    cudaError_t e = allow_smem(attention_forward_tc<D>, forward_tc_smem<D>());
    if (e != cudaSuccess) return e;
    const dim3 grid((a.max_seqlen + kRows - 1) / kRows, a.sequences, a.heads);
    attention_forward_tc<D><<<grid, kThreads, forward_tc_smem<D>(), stream>>>(q, k, v, a.cu_seqlens, o, lse, a.heads,
                                                                              a.kv_heads, a.scale, a.window);
    return cudaGetLastError();
}

template <int D>
cudaError_t backward_tc(const AttentionShape& a, const bf16* q, const bf16* k, const bf16* v, const bf16* dout,
                        const float* lse, const float* delta, bf16* dq, bf16* dk, bf16* dv, cudaStream_t stream) {
    cudaError_t e = allow_smem(attention_dq_tc<D>, dq_tc_smem<D>());
    if (e == cudaSuccess) e = allow_smem(attention_dkdv_tc<D>, dkdv_tc_smem<D>());
    if (e != cudaSuccess) return e;
    const dim3 grid_q((a.max_seqlen + kRows - 1) / kRows, a.sequences, a.heads);
    attention_dq_tc<D><<<grid_q, kThreads, dq_tc_smem<D>(), stream>>>(q, k, v, dout, lse, delta, a.cu_seqlens, dq,
                                                                      a.heads, a.kv_heads, a.scale, a.window);
    e = cudaGetLastError();
    if (e != cudaSuccess) return e;
    const dim3 grid_k((a.max_seqlen + kRows - 1) / kRows, a.sequences, a.kv_heads);
    attention_dkdv_tc<D><<<grid_k, kThreads, dkdv_tc_smem<D>(), stream>>>(q, k, v, dout, lse, delta, a.cu_seqlens, dk,
                                                                          dv, a.heads, a.kv_heads, a.scale, a.window);
    return cudaGetLastError();
}

}  // namespace

cudaError_t attention_forward_tensor_cores(const AttentionShape& a, const bf16* q, const bf16* k, const bf16* v,
                                           bf16* o, float* lse, cudaStream_t stream) {
    return a.head_dim == 64 ? forward_tc<64>(a, q, k, v, o, lse, stream) : forward_tc<128>(a, q, k, v, o, lse, stream);
}

cudaError_t attention_backward_tensor_cores(const AttentionShape& a, const bf16* q, const bf16* k, const bf16* v,
                                            const bf16* dout, const float* lse, const float* delta, bf16* dq, bf16* dk,
                                            bf16* dv, cudaStream_t stream) {
    return a.head_dim == 64 ? backward_tc<64>(a, q, k, v, dout, lse, delta, dq, dk, dv, stream)
                            : backward_tc<128>(a, q, k, v, dout, lse, delta, dq, dk, dv, stream);
}

}  // namespace coevo::kernels
