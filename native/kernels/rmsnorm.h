// Launchers of the RMSNorm kernels (internal to libcoevo_cuda; the public entry is coevo_rmsnorm_forward_f32).
#pragma once

#include <cuda_runtime.h>

namespace coevo::kernels {

// y[r, c] = x[r, c] * rstd[r] * w[c], rstd[r] = 1 / sqrt(mean_c x[r, c]^2 + eps); x, y [rows, dim] row-major.
// Pointers are device pointers, already validated (non-null, distinct, large enough). Enqueues on `stream`
// and returns the launch status (cudaGetLastError right after the launch).
cudaError_t rmsnorm_forward_f32(const float* x, const float* w, float* y, float* rstd, int rows, int dim, float eps,
                                cudaStream_t stream);

}  // namespace coevo::kernels
