// Thread-local last-error message, status mapping, and the library/version entry points.
#include <cstdarg>
#include <cstdio>

#include "internal.h"

#ifndef COEVO_CUDA_ARCHS
#define COEVO_CUDA_ARCHS "unknown"
#endif

#define COEVO_STR2(x) #x
#define COEVO_STR(x) COEVO_STR2(x)

namespace {
thread_local char t_last_error[1024] = "";
}

namespace coevo {

coevo_status fail(coevo_status status, const char* format, ...) {
    va_list args;
    va_start(args, format);
    std::vsnprintf(t_last_error, sizeof t_last_error, format, args);
    va_end(args);
    return status;
}

coevo_status fail_cuda(cudaError_t error, const char* what) {
    coevo_status status = COEVO_CUDA_ERROR;
    switch (error) {
        case cudaErrorMemoryAllocation:
            status = COEVO_OUT_OF_MEMORY;
            break;
        case cudaErrorNoDevice:
        case cudaErrorInsufficientDriver:
        case cudaErrorInvalidDevice:
        case cudaErrorDevicesUnavailable:
            status = COEVO_NOT_AVAILABLE;
            break;
        default:
            break;
    }
    cudaGetLastError();  // reset the runtime's last-error slot so a non-sticky error does not resurface later
    return fail(status, "%s: %s: %s", what, cudaGetErrorName(error), cudaGetErrorString(error));
}

}  // namespace coevo

extern "C" {

COEVO_API const char* coevo_last_error(void) { return t_last_error; }

COEVO_API int coevo_abi_version(void) { return COEVO_ABI_VERSION; }

COEVO_API int coevo_version(void) {
    return COEVO_VERSION_MAJOR * 10000 + COEVO_VERSION_MINOR * 100 + COEVO_VERSION_PATCH;
}

COEVO_API const char* coevo_build_info(void) {
    return "coevo " COEVO_STR(COEVO_VERSION_MAJOR) "." COEVO_STR(COEVO_VERSION_MINOR) "." COEVO_STR(
        COEVO_VERSION_PATCH) "; CUDA runtime " COEVO_STR(CUDART_VERSION) "; archs " COEVO_CUDA_ARCHS;
}

}  // extern "C"
