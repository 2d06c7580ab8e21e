// Shared internals of libcoevo_cuda's host code: handle layouts and the error plumbing behind coevo_last_error.
#pragma once

#include <cuda_runtime.h>

#include "coevo.h"

struct coevo_context {
    int device;
    cudaStream_t stream;
};

struct coevo_buffer {
    int device;
    size_t bytes;
    void* data;  // NULL when bytes == 0
};

namespace coevo {

// Records a printf-style message as the calling thread's last error and returns `status`.
coevo_status fail(coevo_status status, const char* format, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

// Maps a CUDA runtime error to a status (allocation -> OUT_OF_MEMORY, no driver/device -> NOT_AVAILABLE,
// else CUDA_ERROR) and records "<what>: <cudaErrorName>: <cuda message>".
coevo_status fail_cuda(cudaError_t error, const char* what);

// Makes the context's device current on the calling thread.
coevo_status activate(const coevo_context* context, const char* function);

// Checks that `buffer` is non-NULL, lives on the context's device and holds at least `needed` bytes.
coevo_status check_buffer(const coevo_context* context, const coevo_buffer* buffer, size_t needed,
                          const char* function, const char* name);

}  // namespace coevo

// Runs a CUDA runtime call; on error records it (naming the call) and returns from the enclosing function.
#define COEVO_CUDA_TRY(call)                                                              \
    do {                                                                                  \
        const cudaError_t coevo_err_ = (call);                                            \
        if (coevo_err_ != cudaSuccess) return ::coevo::fail_cuda(coevo_err_, #call);      \
    } while (0)
