// A linear layer with optional bias and LoRA adapter. Twin: src/Managed/OnnxCoEvo.Training/Cpu/Linear.cs.
// The GEMMs run in cuBLAS (src/linear.cpp, bf16 inputs, fp32 accumulation); this file holds the bias broadcast that
// seeds y before the GEMM adds x W^T into it (beta = 1), so bias and product are rounded to bf16 once, together.
//
// Base:   y = x W^T + b;   dx = dy W;   dW += dy^T x (fp32)
// LoRA:   xa = s (x A^T) [rows, r] (bf16, saved for backward);  y += xa B^T   (added into the base GEMM's output)
//         dB += dy^T xa;   g = s (dy B);   dA += g^T x;   dx += g A      (dA, dB fp32: the master weights' grads)
// Layout: x, dx [rows, in]; y, dy [rows, out]; W [out, in]; b [out]; A [r, in]; B [out, r] (PEFT's lora_A, lora_B).
#include "coevo_kernels.h"
#include "common.cuh"

namespace coevo::kernels {
namespace {

__global__ void broadcast_rows_kernel(const bf16* __restrict__ bias, bf16* __restrict__ y, long long n, int cols) {
    for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<long long>(gridDim.x) * blockDim.x)
        y[i] = bias[i % cols];
}

}  // namespace

cudaError_t broadcast_rows(const bf16* bias, bf16* y, int rows, int cols, cudaStream_t stream) {
    const long long n = static_cast<long long>(rows) * cols;
    broadcast_rows_kernel<<<elementwise_blocks(n, 256), 256, 0, stream>>>(bias, y, n, cols);
    return cudaGetLastError();
}

}  // namespace coevo::kernels
