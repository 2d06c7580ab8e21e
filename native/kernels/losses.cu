// Token-level SFT (cross-entropy) and DPO losses over the target log-probs of a packed batch. Twins:
// src/Managed/OnnxCoEvo.Training/Losses/SftLoss.cs, DpoLoss.cs (PreferenceLoss.Compute) and SequenceLogProbs.cs.
// Both run as one block of 1024 threads (the inputs are [T] vectors); sums are fp64 in a fixed tree order, so the
// results are deterministic.
//
// SFT:  L = -(1/N) sum_t m_t logp_t   (N = the optimizer batch's scored tokens);  dL/dlogp_t = -m_t / N
// DPO (sigmoid, TRL), pair i = sequences 2i (chosen) and 2i + 1 (rejected) of cu_seqlens:
//   pi_c, pi_r = sums of m_t logp_t over each sequence;  r_c, r_r = reference sums (given)
//   z = beta ((pi_c - r_c) - (pi_r - r_r));  L_i = softplus(-z)
//   dL/dpi_c = w_dpo / P (-beta sigmoid(-z)) - w_nll / Dn;  dL/dpi_r = w_dpo / P (beta sigmoid(-z))
//   (P = batch pairs; Dn = batch chosen tokens for a token-mean NLL, else P), broadcast to each scored token.
// result[7] = total, dpo, chosen nll, chosen reward, rejected reward, margin, accuracy (each a share of the batch).
#include "coevo_kernels.h"
#include "common.cuh"

namespace coevo::kernels {
namespace {

constexpr int kThreads = 1024;

__global__ void __launch_bounds__(kThreads)
    sft_loss_kernel(const float* __restrict__ logp, const uint8_t* __restrict__ mask, int tokens, double inverse_count,
                    double* __restrict__ loss, float* __restrict__ grad) {
    __shared__ double scratch[32];
    const float g = static_cast<float>(-inverse_count);
    double sum = 0.0;
    for (int t = threadIdx.x; t < tokens; t += kThreads) {
        const bool m = mask[t] != 0;
        if (m) sum += logp[t];
        grad[t] = m ? g : 0.0f;
    }
    sum = block_sum(sum, scratch);
    if (threadIdx.x == 0) *loss = -sum * inverse_count;
}

__device__ double softplus(double x) { return fmax(x, 0.0) + log1p(exp(-fabs(x))); }
__device__ double sigmoid(double x) {
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    const double e = exp(x);
    return e / (1.0 + e);
}

__global__ void __launch_bounds__(kThreads)
    dpo_loss_kernel(const float* __restrict__ logp, const uint8_t* __restrict__ mask, const int32_t* __restrict__ cu,
                    const double* __restrict__ ref, int pairs, DpoOptions o, double* __restrict__ result,
                    float* __restrict__ grad, double* __restrict__ sums, double* __restrict__ grads) {
    __shared__ double scratch[32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = kThreads / 32;
    for (int q = warp; q < 2 * pairs; q += warps) {
        double s = 0.0;
        for (int t = cu[q] + lane; t < cu[q + 1]; t += 32)
            if (mask[t]) s += logp[t];
        s = warp_sum(s);
        if (lane == 0) sums[q] = s;
    }
    __syncthreads();
    const double per_pair = 1.0 / (o.batch_pairs > 1 ? o.batch_pairs : 1);
    const double nll_divisor = o.nll_token_mean ? static_cast<double>(o.batch_chosen_tokens > 1 ? o.batch_chosen_tokens : 1)
                                                : static_cast<double>(o.batch_pairs > 1 ? o.batch_pairs : 1);
    const double nll_gradient = -o.nll_weight / nll_divisor;
    double dpo = 0, chosen = 0, chosen_reward = 0, rejected_reward = 0, accurate = 0;
    for (int i = threadIdx.x; i < pairs; i += kThreads) {
        const double rc = o.beta * (sums[2 * i] - ref[2 * i]), rr = o.beta * (sums[2 * i + 1] - ref[2 * i + 1]);
        const double z = rc - rr, sm = sigmoid(-z);
        dpo += softplus(-z);
        chosen += sums[2 * i];
        chosen_reward += rc;
        rejected_reward += rr;
        if (z > 0) accurate += 1;
        grads[2 * i] = o.dpo_weight * per_pair * (-o.beta * sm) + nll_gradient;
        grads[2 * i + 1] = o.dpo_weight * per_pair * (o.beta * sm);
    }
    dpo = block_sum(dpo, scratch);
    chosen = block_sum(chosen, scratch);
    chosen_reward = block_sum(chosen_reward, scratch);
    rejected_reward = block_sum(rejected_reward, scratch);
    accurate = block_sum(accurate, scratch);
    if (threadIdx.x == 0) {
        const double dpo_share = dpo * per_pair, nll_share = -chosen / nll_divisor;
        result[0] = o.dpo_weight * dpo_share + o.nll_weight * nll_share;
        result[1] = dpo_share;
        result[2] = nll_share;
        result[3] = chosen_reward * per_pair;
        result[4] = rejected_reward * per_pair;
        result[5] = (chosen_reward - rejected_reward) * per_pair;
        result[6] = accurate * per_pair;
    }
    __syncthreads();  // grads of every pair written
    for (int q = warp; q < 2 * pairs; q += warps) {
        const float g = static_cast<float>(grads[q]);
        for (int t = cu[q] + lane; t < cu[q + 1]; t += 32) grad[t] = mask[t] ? g : 0.0f;
    }
}

}  // namespace

cudaError_t sft_loss(const float* logp, const uint8_t* mask, int tokens, long long batch_scored_tokens, double* loss,
                     float* grad, cudaStream_t stream) {
    sft_loss_kernel<<<1, kThreads, 0, stream>>>(logp, mask, tokens, 1.0 / static_cast<double>(batch_scored_tokens),
                                                 loss, grad);
    return cudaGetLastError();
}

cudaError_t dpo_loss(const float* logp, const uint8_t* mask, const int32_t* cu_seqlens, const double* ref, int pairs,
                     const DpoOptions& options, double* result, float* grad, double* sums, double* grads,
                     cudaStream_t stream) {
    dpo_loss_kernel<<<1, kThreads, 0, stream>>>(logp, mask, cu_seqlens, ref, pairs, options, result, grad, sums, grads);
    return cudaGetLastError();
}

}  // namespace coevo::kernels
