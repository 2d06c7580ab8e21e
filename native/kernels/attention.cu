// Causal grouped-query attention over packed variable-length sequences, bf16 storage, fp32 arithmetic.
// Twin: src/Managed/OnnxCoEvo.Training/Cpu/CausalAttention.cs (same layout, same saved logsumexp).
//
// Layout: q, o, dq, do [T, H, D]; k, v, dk, dv [T, Hkv, D] row-major bf16 (token t, head h at (t * H + h) * D);
// lse, delta [T, H] fp32; cu_seqlens [S + 1] int32 (sequence s is tokens [cu[s], cu[s + 1]); indices below are
// local to the sequence). Query head h reads kv head h / (H / Hkv). scale = 1 / sqrt(D).
// Key s is visible from query t iff s <= t and (window <= 0 or t - s < window).
//
// Forward (FlashAttention-2's online softmax; never an S x S matrix): per block a tile of BQ query rows of one
// (sequence, head); key tiles of BK rows stream through shared memory. Per row, with running max m and sum l:
//   S = scale * q k^T (masked: -inf);  m' = max(m, max S);  P = exp(S - m');  l = l e^(m - m') + sum P
//   acc = acc e^(m - m') + P V;        finally o = acc / l,  lse = m + log l
// Backward (P recomputed from the saved lse; dO . O gives delta, the row sum of P dP):
//   P = exp(scale q k^T - lse);  dP = dO v^T;  dS = P (dP - delta)
//   dQ = scale dS K   (kernel dq: per query tile, loops over key tiles; no atomics)
//   dK = scale dS^T Q, dV = P^T dO, summed over the query heads of the group and over query tiles
//                      (kernel dkdv: per key tile of one kv head; no atomics, so deterministic)
// Threads: 128 per block; thread (row = tid / 4, quad = tid % 4) owns the score columns quad + 4 j of its row and
// the output columns quad + 4 j of its row's D. Shared rows are padded to D + 1 / BK + 1 floats (no bank conflicts).
// Arithmetic here is plain fp32 FMA (COEVO_ATTENTION_FMA, the default: the simplest code to trust); attention_tc.cu
// runs the same tiles on tensor cores (COEVO_ATTENTION_TENSOR_CORES). `coevo bench kernels` times both.
#include "coevo_kernels.h"
#include "common.cuh"

namespace coevo::kernels {
namespace {

constexpr int kThreads = 128;
constexpr int kBq = 32;   // query rows per forward / dq block
constexpr int kBk = 64;   // key rows per forward / dq tile
constexpr int kBkv = 32;  // key rows per dkdv block
constexpr int kBq2 = 64;  // query rows per dkdv tile

__device__ __forceinline__ bool visible(int s, int t, int window) {
    return s <= t && (window <= 0 || t - s < window);
}

// Loads rows [first, first + rows) of one head (stride `head_stride` elements between tokens) into shared
// memory as fp32 with row pitch `pitch`; rows at or past `len` are zero.
template <int D>
__device__ __forceinline__ void load_rows(float* dst, int pitch, const bf16* src, int start, int first, int rows, int len,
                                          int heads, int head) {
    for (int i = threadIdx.x; i < rows * D; i += kThreads) {
        const int r = i / D, c = i % D, t = first + r;
        dst[r * pitch + c] = t < len ? to_f32(src[(static_cast<size_t>(start + t) * heads + head) * D + c]) : 0.0f;
    }
}

// The (sequence, query head, query tile) a forward or dq block works on, and its thread's row and columns.
struct QueryTile {
    int start, len, q0, head, kvh, row, quad, t, q_last, k_begin;
    __device__ QueryTile(const int* cu, int heads, int kv_heads, int window, int rows) {
        const int seq = blockIdx.y;
        start = cu[seq];
        len = cu[seq + 1] - start;
        q0 = blockIdx.x * rows;
        head = blockIdx.z;
        kvh = head / (heads / kv_heads);
        row = threadIdx.x >> 2;
        quad = threadIdx.x & 3;
        t = q0 + row;
        q_last = min(q0 + rows, len) - 1;
        k_begin = window > 0 ? max(0, q0 - window + 1) / kBk * kBk : 0;  // first key tile any row can see
    }
    __device__ bool empty() const { return q0 >= len; }
};

template <int D>
__global__ void __launch_bounds__(kThreads)
    attention_forward(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v,
                      const int* __restrict__ cu, bf16* __restrict__ o, float* __restrict__ lse, int heads,
                      int kv_heads, float scale, int window) {
    constexpr int P = D + 1, PS = kBk + 1, J = kBk / 4, DD = D / 4;
    extern __shared__ float smem[];
    float* sq = smem;
    float* sk = sq + kBq * P;
    float* sv = sk + kBk * P;
    float* ss = sv + kBk * P;
    const QueryTile tile(cu, heads, kv_heads, window, kBq);
    if (tile.empty()) return;
    const int start = tile.start, len = tile.len, head = tile.head, kvh = tile.kvh, row = tile.row, quad = tile.quad;
    const int t = tile.t, q0 = tile.q0;
    load_rows<D>(sq, P, q, start, q0, kBq, len, heads, head);

    float acc[DD];
#pragma unroll
    for (int i = 0; i < DD; i++) acc[i] = 0.0f;
    float m = -INFINITY, l = 0.0f;
    for (int k0 = tile.k_begin; k0 <= tile.q_last; k0 += kBk) {
        __syncthreads();  // the previous tile is no longer read
        load_rows<D>(sk, P, k, start, k0, kBk, len, kv_heads, kvh);
        load_rows<D>(sv, P, v, start, k0, kBk, len, kv_heads, kvh);
        __syncthreads();
        float s[J];
        float tile_max = -INFINITY;
#pragma unroll
        for (int j = 0; j < J; j++) {
            const int c = quad + 4 * j, key = k0 + c;
            float dot = 0.0f;
#pragma unroll 16
            for (int d = 0; d < D; d++) dot += sq[row * P + d] * sk[c * P + d];
            s[j] = (key < len && visible(key, t, window)) ? dot * scale : -INFINITY;
            tile_max = fmaxf(tile_max, s[j]);
        }
        tile_max = fmaxf(tile_max, __shfl_xor_sync(kFullMask, tile_max, 1));
        tile_max = fmaxf(tile_max, __shfl_xor_sync(kFullMask, tile_max, 2));
        const float m_new = fmaxf(m, tile_max);
        const float alpha = m == -INFINITY ? 0.0f : __expf(m - m_new);
        float psum = 0.0f;
#pragma unroll
        for (int j = 0; j < J; j++) {
            const float p = s[j] == -INFINITY ? 0.0f : expf(s[j] - m_new);
            ss[row * PS + quad + 4 * j] = p;
            psum += p;
        }
        psum += __shfl_xor_sync(kFullMask, psum, 1);
        psum += __shfl_xor_sync(kFullMask, psum, 2);
        l = l * alpha + psum;
        m = m_new;
        __syncwarp();  // the row's four threads (one warp) wrote ss
#pragma unroll
        for (int i = 0; i < DD; i++) acc[i] *= alpha;
        for (int c = 0; c < kBk; c++) {
            const float p = ss[row * PS + c];
#pragma unroll
            for (int i = 0; i < DD; i++) acc[i] += p * sv[c * P + quad + 4 * i];
        }
    }
    if (t < len) {
        const float inv = 1.0f / l;
        bf16* out = o + (static_cast<size_t>(start + t) * heads + head) * D;
#pragma unroll
        for (int i = 0; i < DD; i++) out[quad + 4 * i] = to_bf16(acc[i] * inv);
        if (quad == 0) lse[static_cast<size_t>(start + t) * heads + head] = m + logf(l);
    }
}

// delta[t, h] = sum_d dO[t, h, d] O[t, h, d]; one warp per (t, h).
template <int D>
__global__ void attention_delta(const bf16* __restrict__ o, const bf16* __restrict__ dout, float* __restrict__ delta,
                                long long rows) {
    const long long r = static_cast<long long>(blockIdx.x) * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (r >= rows) return;
    const int lane = threadIdx.x & 31;
    float sum = 0.0f;
    for (int d = lane; d < D; d += 32) sum += to_f32(o[r * D + d]) * to_f32(dout[r * D + d]);
    sum = warp_sum(sum);
    if (lane == 0) delta[r] = sum;
}

template <int D>
__global__ void __launch_bounds__(kThreads)
    attention_backward_dq(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v,
                          const bf16* __restrict__ dout, const float* __restrict__ lse, const float* __restrict__ delta,
                          const int* __restrict__ cu, bf16* __restrict__ dq, int heads, int kv_heads, float scale,
                          int window) {
    constexpr int P = D + 1, PS = kBk + 1, J = kBk / 4, DD = D / 4;
    extern __shared__ float smem[];
    float* sq = smem;
    float* sdo = sq + kBq * P;
    float* sk = sdo + kBq * P;
    float* sv = sk + kBk * P;
    float* ss = sv + kBk * P;
    const QueryTile tile(cu, heads, kv_heads, window, kBq);
    if (tile.empty()) return;
    const int start = tile.start, len = tile.len, head = tile.head, kvh = tile.kvh, row = tile.row, quad = tile.quad;
    const int t = tile.t, q0 = tile.q0;
    load_rows<D>(sq, P, q, start, q0, kBq, len, heads, head);
    load_rows<D>(sdo, P, dout, start, q0, kBq, len, heads, head);
    const size_t stat = static_cast<size_t>(start + t) * heads + head;
    const float row_lse = t < len ? lse[stat] : 0.0f, row_delta = t < len ? delta[stat] : 0.0f;

    float acc[DD];
#pragma unroll
    for (int i = 0; i < DD; i++) acc[i] = 0.0f;
    for (int k0 = tile.k_begin; k0 <= tile.q_last; k0 += kBk) {
        __syncthreads();
        load_rows<D>(sk, P, k, start, k0, kBk, len, kv_heads, kvh);
        load_rows<D>(sv, P, v, start, k0, kBk, len, kv_heads, kvh);
        __syncthreads();
#pragma unroll
        for (int j = 0; j < J; j++) {
            const int c = quad + 4 * j, key = k0 + c;
            float ds = 0.0f;
            if (t < len && key < len && visible(key, t, window)) {
                float dot = 0.0f, dp = 0.0f;
#pragma unroll 16
                for (int d = 0; d < D; d++) {
                    dot += sq[row * P + d] * sk[c * P + d];
                    dp += sdo[row * P + d] * sv[c * P + d];
                }
                const float p = expf(dot * scale - row_lse);
                ds = p * (dp - row_delta);
            }
            ss[row * PS + c] = ds;
        }
        __syncwarp();
        for (int c = 0; c < kBk; c++) {
            const float ds = ss[row * PS + c];
#pragma unroll
            for (int i = 0; i < DD; i++) acc[i] += ds * sk[c * P + quad + 4 * i];
        }
    }
    if (t < len) {
        bf16* out = dq + (static_cast<size_t>(start + t) * heads + head) * D;
#pragma unroll
        for (int i = 0; i < DD; i++) out[quad + 4 * i] = to_bf16(acc[i] * scale);
    }
}

template <int D>
__global__ void __launch_bounds__(kThreads)
    attention_backward_dkdv(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v,
                            const bf16* __restrict__ dout, const float* __restrict__ lse,
                            const float* __restrict__ delta, const int* __restrict__ cu, bf16* __restrict__ dk,
                            bf16* __restrict__ dv, int heads, int kv_heads, float scale, int window) {
    constexpr int P = D + 1, PS = kBq2 + 1, J = kBq2 / 4, DD = D / 4;
    extern __shared__ float smem[];
    float* sk = smem;
    float* sv = sk + kBkv * P;
    float* sq = sv + kBkv * P;
    float* sdo = sq + kBq2 * P;
    float* sp = sdo + kBq2 * P;
    float* sds = sp + kBkv * PS;
    float* slse = sds + kBkv * PS;
    float* sdelta = slse + kBq2;
    const int seq = blockIdx.y, kvh = blockIdx.z, start = cu[seq], len = cu[seq + 1] - start;
    const int k0 = blockIdx.x * kBkv;
    if (k0 >= len) return;
    const int group = heads / kv_heads, row = threadIdx.x >> 2, quad = threadIdx.x & 3, key = k0 + row;
    load_rows<D>(sk, P, k, start, k0, kBkv, len, kv_heads, kvh);
    load_rows<D>(sv, P, v, start, k0, kBkv, len, kv_heads, kvh);

    float dk_acc[DD], dv_acc[DD];
#pragma unroll
    for (int i = 0; i < DD; i++) dk_acc[i] = dv_acc[i] = 0.0f;
    // Queries that can see a key of this tile: t in [k0, min(len, k0 + kBkv - 1 + window)).
    const int q_end = window > 0 ? min(len, k0 + kBkv - 1 + window) : len;
    for (int head = kvh * group; head < (kvh + 1) * group; head++) {
        for (int q0 = k0 / kBq2 * kBq2; q0 < q_end; q0 += kBq2) {
            __syncthreads();
            load_rows<D>(sq, P, q, start, q0, kBq2, len, heads, head);
            load_rows<D>(sdo, P, dout, start, q0, kBq2, len, heads, head);
            load_row_stats(slse, sdelta, lse, delta, start, q0, kBq2, len, heads, head, kThreads);
            __syncthreads();
#pragma unroll
            for (int j = 0; j < J; j++) {
                const int c = quad + 4 * j, t = q0 + c;
                float p = 0.0f, ds = 0.0f;
                if (key < len && t < len && visible(key, t, window)) {
                    float dot = 0.0f, dp = 0.0f;
#pragma unroll 16
                    for (int d = 0; d < D; d++) {
                        dot += sk[row * P + d] * sq[c * P + d];
                        dp += sv[row * P + d] * sdo[c * P + d];
                    }
                    p = expf(dot * scale - slse[c]);
                    ds = p * (dp - sdelta[c]);
                }
                sp[row * PS + c] = p;
                sds[row * PS + c] = ds;
            }
            __syncwarp();
            for (int c = 0; c < kBq2; c++) {
                const float p = sp[row * PS + c], ds = sds[row * PS + c];
#pragma unroll
                for (int i = 0; i < DD; i++) {
                    dv_acc[i] += p * sdo[c * P + quad + 4 * i];
                    dk_acc[i] += ds * sq[c * P + quad + 4 * i];
                }
            }
        }
    }
    if (key < len) {
        const size_t base = (static_cast<size_t>(start + key) * kv_heads + kvh) * D;
#pragma unroll
        for (int i = 0; i < DD; i++) {
            dk[base + quad + 4 * i] = to_bf16(dk_acc[i] * scale);
            dv[base + quad + 4 * i] = to_bf16(dv_acc[i]);
        }
    }
}

template <int D>
constexpr size_t forward_smem() { return sizeof(float) * (kBq * (D + 1) + 2 * kBk * (D + 1) + kBq * (kBk + 1)); }
template <int D>
constexpr size_t dq_smem() { return sizeof(float) * (2 * kBq * (D + 1) + 2 * kBk * (D + 1) + kBq * (kBk + 1)); }
template <int D>
constexpr size_t dkdv_smem() {
    return sizeof(float) * (2 * kBkv * (D + 1) + 2 * kBq2 * (D + 1) + 2 * kBkv * (kBq2 + 1) + 2 * kBq2);
}

template <int D>
cudaError_t launch_forward(const AttentionShape& a, const bf16* q, const bf16* k, const bf16* v, bf16* o, float* lse,
                           cudaStream_t stream) {
    const size_t smem = forward_smem<D>();
    cudaError_t e = cudaFuncSetAttribute(attention_forward<D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         static_cast<int>(smem));
    if (e != cudaSuccess) return e;
    const dim3 grid((a.max_seqlen + kBq - 1) / kBq, a.sequences, a.heads);
    attention_forward<D><<<grid, kThreads, smem, stream>>>(q, k, v, a.cu_seqlens, o, lse, a.heads, a.kv_heads,
                                                           a.scale, a.window);
    return cudaGetLastError();
}

template <int D>
cudaError_t launch_backward(const AttentionShape& a, const bf16* q, const bf16* k, const bf16* v, const bf16* o,
                            const float* lse, const bf16* dout, float* delta, bf16* dq, bf16* dk, bf16* dv,
                            bool tensor_cores, cudaStream_t stream) {
    const long long rows = static_cast<long long>(a.tokens) * a.heads;
    attention_delta<D><<<blocks_for(rows, 8), 256, 0, stream>>>(o, dout, delta, rows);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return e;
    if (tensor_cores) return attention_backward_tensor_cores(a, q, k, v, dout, lse, delta, dq, dk, dv, stream);
    const size_t smem_dq = dq_smem<D>(), smem_dkdv = dkdv_smem<D>();
    e = cudaFuncSetAttribute(attention_backward_dq<D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             static_cast<int>(smem_dq));
    if (e != cudaSuccess) return e;
    e = cudaFuncSetAttribute(attention_backward_dkdv<D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             static_cast<int>(smem_dkdv));
    if (e != cudaSuccess) return e;
    const dim3 grid_dq((a.max_seqlen + kBq - 1) / kBq, a.sequences, a.heads);
    attention_backward_dq<D><<<grid_dq, kThreads, smem_dq, stream>>>(q, k, v, dout, lse, delta, a.cu_seqlens, dq,
                                                                     a.heads, a.kv_heads, a.scale, a.window);
    e = cudaGetLastError();
    if (e != cudaSuccess) return e;
    const dim3 grid_kv((a.max_seqlen + kBkv - 1) / kBkv, a.sequences, a.kv_heads);
    attention_backward_dkdv<D><<<grid_kv, kThreads, smem_dkdv, stream>>>(q, k, v, dout, lse, delta, a.cu_seqlens, dk,
                                                                          dv, a.heads, a.kv_heads, a.scale, a.window);
    return cudaGetLastError();
}

}  // namespace

cudaError_t attention_forward(const AttentionShape& a, const bf16* q, const bf16* k, const bf16* v, bf16* o,
                              float* lse, cudaStream_t stream) {
    return a.head_dim == 64 ? launch_forward<64>(a, q, k, v, o, lse, stream)
                            : launch_forward<128>(a, q, k, v, o, lse, stream);
}

cudaError_t attention_backward(const AttentionShape& a, const bf16* q, const bf16* k, const bf16* v, const bf16* o,
                               const float* lse, const bf16* dout, float* delta, bf16* dq, bf16* dk, bf16* dv,
                               bool tensor_cores, cudaStream_t stream) {
    return a.head_dim == 64 ? launch_backward<64>(a, q, k, v, o, lse, dout, delta, dq, dk, dv, tensor_cores, stream)
                            : launch_backward<128>(a, q, k, v, o, lse, dout, delta, dq, dk, dv, tensor_cores, stream);
}

}  // namespace coevo::kernels
