/*
 * coevo.h - the whole C ABI of libcoevo_cuda (OnnxCoEvo's CUDA backend).
 *
 * Rules of this boundary (the C# side in src/Managed/OnnxCoEvo.Cuda/NativeMethods.cs mirrors every line):
 *   - Plain C only: opaque handles, fixed-size integers, float, size_t, const char*. No C++ types cross it.
 *   - Every fallible function returns coevo_status. On failure the thread-local message returned by
 *     coevo_last_error() says what went wrong; successful calls leave it untouched.
 *   - Out-parameters are written only on success (counts are set to 0 on failure).
 *   - Destroy/free functions accept NULL and never fail.
 *
 * Memory layout: every tensor is a dense, row-major fp32 array in a coevo_buffer. A matrix [rows, dim]
 * stores element (r, c) at float index r * dim + c, i.e. byte offset (r * dim + c) * 4 from the buffer start.
 * Vectors [n] are contiguous. Buffers start on a 256-byte boundary (cudaMalloc), so float4 loads are aligned
 * whenever dim is a multiple of 4.
 *
 * Threads and streams: a coevo_context owns one CUDA stream on one device. Kernels are enqueued on that stream
 * and return before they finish; coevo_buffer_download and coevo_context_synchronize wait for them. A context
 * may be used from several threads, but not concurrently.
 */
#ifndef COEVO_H
#define COEVO_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#  if defined(COEVO_BUILDING_LIBRARY)
#    define COEVO_API __declspec(dllexport)
#  else
#    define COEVO_API __declspec(dllimport)
#  endif
#else
#  define COEVO_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Library version (informational) and ABI version (bumped on any incompatible change of this header;
 * callers compare coevo_abi_version() with the value they were written against). */
#define COEVO_VERSION_MAJOR 0
#define COEVO_VERSION_MINOR 1
#define COEVO_VERSION_PATCH 0
#define COEVO_ABI_VERSION 1

typedef enum coevo_status {
    COEVO_OK = 0,
    COEVO_INVALID_ARGUMENT = 1, /* a NULL handle, a size that does not fit its buffer, a bad dimension */
    COEVO_CUDA_ERROR = 2,       /* the CUDA runtime reported an error (kernel launch, copy, stream) */
    COEVO_OUT_OF_MEMORY = 3,    /* device allocation failed */
    COEVO_NOT_AVAILABLE = 4,    /* no CUDA driver, no device, or a device index out of range */
    COEVO_INTERNAL_ERROR = 5    /* a bug in this library */
} coevo_status;

typedef struct coevo_context coevo_context; /* a device index + a CUDA stream */
typedef struct coevo_buffer coevo_buffer;   /* device memory of a fixed byte size on one device */

/* ---- library ---- */

/* The message of the most recent failure on the calling thread ("" if none). Valid until the next failing call
 * on this thread. Never NULL. */
COEVO_API const char* coevo_last_error(void);

/* COEVO_ABI_VERSION of the compiled library. */
COEVO_API int coevo_abi_version(void);

/* COEVO_VERSION_MAJOR * 10000 + MINOR * 100 + PATCH of the compiled library. */
COEVO_API int coevo_version(void);

/* Static description of the build, e.g. "coevo 0.1.0; CUDA runtime 11080; archs 80,90". Never NULL. */
COEVO_API const char* coevo_build_info(void);

/* Number of CUDA devices visible to this process. On failure (no driver, no device) *count = 0 and the status is
 * COEVO_NOT_AVAILABLE or COEVO_CUDA_ERROR with the CUDA runtime's explanation in coevo_last_error(). */
COEVO_API coevo_status coevo_device_count(int* count);

/* Name of device `device` as a NUL-terminated string truncated to `capacity` bytes. */
COEVO_API coevo_status coevo_device_name(int device, char* name, size_t capacity);

/* ---- context ---- */

/* Creates a context on device `device` (0-based) with its own non-blocking stream. */
COEVO_API coevo_status coevo_context_create(int device, coevo_context** out_context);

/* Waits for all queued work of the context, then frees it. NULL is ignored. */
COEVO_API void coevo_context_destroy(coevo_context* context);

/* Waits until all work queued on the context's stream has finished; reports asynchronous kernel errors. */
COEVO_API coevo_status coevo_context_synchronize(coevo_context* context);

/* The device index the context was created on. */
COEVO_API coevo_status coevo_context_device(const coevo_context* context, int* out_device);

/* ---- buffers ---- */

/* Allocates `bytes` of device memory on the context's device (contents undefined). bytes == 0 gives an empty
 * buffer that every size check treats as holding nothing. */
COEVO_API coevo_status coevo_buffer_alloc(coevo_context* context, size_t bytes, coevo_buffer** out_buffer);

/* Frees the buffer (synchronises its device first, as cudaFree does). NULL is ignored. */
COEVO_API void coevo_buffer_free(coevo_buffer* buffer);

/* Size in bytes given at allocation (0 for NULL). */
COEVO_API size_t coevo_buffer_size(const coevo_buffer* buffer);

/* Copies `bytes` from host memory `src` to the buffer at byte offset `offset`, ordered on the context's stream.
 * Returns when `src` may be reused. */
COEVO_API coevo_status coevo_buffer_upload(coevo_context* context, coevo_buffer* buffer, size_t offset,
                                           const void* src, size_t bytes);

/* Copies `bytes` from the buffer at byte offset `offset` to host memory `dst` after all work queued on the
 * context's stream has finished. Returns when `dst` holds the data. */
COEVO_API coevo_status coevo_buffer_download(coevo_context* context, const coevo_buffer* buffer, size_t offset,
                                             void* dst, size_t bytes);

/* ---- kernels ---- */

/* RMSNorm forward, fp32 (twin: src/Managed/OnnxCoEvo.Training/Cpu/RmsNorm.cs):
 *   rstd[r]   = 1 / sqrt(mean_c(x[r, c]^2) + eps)
 *   y[r, c]   = (x[r, c] * rstd[r]) * weight[c]
 * Shapes: x, y [rows, dim] row-major; weight [dim]; rstd [rows] (kept for the backward pass).
 * Requires rows >= 1, dim >= 1, eps finite and >= 0, each buffer at least as large as its shape, and y and rstd
 * distinct from every other argument (no in-place). Enqueued on the context's stream; returns before it ends. */
COEVO_API coevo_status coevo_rmsnorm_forward_f32(coevo_context* context, const coevo_buffer* x,
                                                 const coevo_buffer* weight, coevo_buffer* y, coevo_buffer* rstd,
                                                 int rows, int dim, float eps);

#ifdef __cplusplus
}
#endif

#endif /* COEVO_H */
