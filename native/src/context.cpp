// Devices, contexts (device + stream) and device buffers.
#include <cstdint>
#include <cstring>
#include <new>

#include "internal.h"

namespace coevo {

coevo_status activate(const coevo_context* context, const char* function) {
    if (context == nullptr) return fail(COEVO_INVALID_ARGUMENT, "%s: context is NULL", function);
    COEVO_CUDA_TRY(cudaSetDevice(context->device));
    return COEVO_OK;
}

coevo_status check_buffer(const coevo_context* context, const coevo_buffer* buffer, size_t needed,
                          const char* function, const char* name) {
    if (buffer == nullptr) return fail(COEVO_INVALID_ARGUMENT, "%s: %s is NULL", function, name);
    if (buffer->device != context->device)
        return fail(COEVO_INVALID_ARGUMENT, "%s: %s lives on device %d but the context is on device %d", function,
                    name, buffer->device, context->device);
    if (buffer->bytes < needed)
        return fail(COEVO_INVALID_ARGUMENT, "%s: %s holds %zu bytes but %zu are needed", function, name,
                    buffer->bytes, needed);
    return COEVO_OK;
}

// offset + bytes within the buffer, without overflow.
coevo_status check_range(const coevo_buffer* buffer, size_t offset, size_t bytes, const char* function) {
    if (offset > buffer->bytes || bytes > buffer->bytes - offset)
        return fail(COEVO_INVALID_ARGUMENT, "%s: range [%zu, %zu + %zu) exceeds the buffer's %zu bytes", function,
                    offset, offset, bytes, buffer->bytes);
    return COEVO_OK;
}

// Copies between host memory and bytes [offset, offset + bytes) of `buffer` (direction `kind`) on the context's
// stream, then waits: a download needs the data, and an upload from page-locked memory may still be reading the
// source when cudaMemcpyAsync returns (the C# side pins a span only for the duration of the call).
coevo_status copy_and_wait(coevo_context* context, const coevo_buffer* buffer, size_t offset, void* host,
                           size_t bytes, cudaMemcpyKind kind, const char* function) {
    coevo_status s = activate(context, function);
    if (s == COEVO_OK) s = check_buffer(context, buffer, 0, function, "buffer");
    if (s == COEVO_OK) s = check_range(buffer, offset, bytes, function);
    if (s != COEVO_OK) return s;
    if (bytes == 0) return COEVO_OK;
    if (host == nullptr) return fail(COEVO_INVALID_ARGUMENT, "%s: host pointer is NULL", function);
    char* device = static_cast<char*>(buffer->data) + offset;
    const bool to_device = kind == cudaMemcpyHostToDevice;
    COEVO_CUDA_TRY(cudaMemcpyAsync(to_device ? static_cast<void*>(device) : host, to_device ? host : device, bytes,
                                   kind, context->stream));
    COEVO_CUDA_TRY(cudaStreamSynchronize(context->stream));
    return COEVO_OK;
}

}  // namespace coevo

using coevo::fail;

extern "C" {

COEVO_API coevo_status coevo_device_count(int* count) {
    if (count == nullptr) return fail(COEVO_INVALID_ARGUMENT, "coevo_device_count: count is NULL");
    *count = 0;
    int n = 0;
    COEVO_CUDA_TRY(cudaGetDeviceCount(&n));
    *count = n;
    return COEVO_OK;
}

COEVO_API coevo_status coevo_device_name(int device, char* name, size_t capacity) {
    if (name == nullptr || capacity == 0)
        return fail(COEVO_INVALID_ARGUMENT, "coevo_device_name: name is NULL or capacity is 0");
    cudaDeviceProp prop;
    COEVO_CUDA_TRY(cudaGetDeviceProperties(&prop, device));
    std::strncpy(name, prop.name, capacity - 1);
    name[capacity - 1] = '\0';
    return COEVO_OK;
}

COEVO_API coevo_status coevo_context_create(int device, coevo_context** out_context) {
    if (out_context == nullptr) return fail(COEVO_INVALID_ARGUMENT, "coevo_context_create: out_context is NULL");
    int n = 0;
    COEVO_CUDA_TRY(cudaGetDeviceCount(&n));
    if (device < 0 || device >= n)
        return fail(COEVO_NOT_AVAILABLE, "coevo_context_create: device %d does not exist (%d device(s) visible)",
                    device, n);
    COEVO_CUDA_TRY(cudaSetDevice(device));
    cudaStream_t stream = nullptr;
    COEVO_CUDA_TRY(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    auto* context = new (std::nothrow) coevo_context{device, stream, nullptr, nullptr, nullptr, COEVO_ATTENTION_FMA};
    if (context == nullptr) {
        cudaStreamDestroy(stream);
        return fail(COEVO_OUT_OF_MEMORY, "coevo_context_create: host allocation failed");
    }
    *out_context = context;
    return COEVO_OK;
}

COEVO_API void coevo_context_destroy(coevo_context* context) {
    if (context == nullptr) return;
    if (cudaSetDevice(context->device) == cudaSuccess) {
        cudaStreamSynchronize(context->stream);
        if (context->blas != nullptr) cublasDestroy(context->blas);
        if (context->timer_start != nullptr) cudaEventDestroy(context->timer_start);
        if (context->timer_stop != nullptr) cudaEventDestroy(context->timer_stop);
        cudaStreamDestroy(context->stream);
    }
    cudaGetLastError();  // destroy never fails; do not leave an error behind for the next call
    delete context;
}

COEVO_API coevo_status coevo_context_synchronize(coevo_context* context) {
    const coevo_status s = coevo::activate(context, "coevo_context_synchronize");
    if (s != COEVO_OK) return s;
    COEVO_CUDA_TRY(cudaStreamSynchronize(context->stream));
    return COEVO_OK;
}

COEVO_API coevo_status coevo_context_device(const coevo_context* context, int* out_device) {
    if (context == nullptr || out_device == nullptr)
        return fail(COEVO_INVALID_ARGUMENT, "coevo_context_device: context or out_device is NULL");
    *out_device = context->device;
    return COEVO_OK;
}

COEVO_API coevo_status coevo_buffer_alloc(coevo_context* context, size_t bytes, coevo_buffer** out_buffer) {
    if (out_buffer == nullptr) return fail(COEVO_INVALID_ARGUMENT, "coevo_buffer_alloc: out_buffer is NULL");
    const coevo_status s = coevo::activate(context, "coevo_buffer_alloc");
    if (s != COEVO_OK) return s;
    void* data = nullptr;
    if (bytes > 0) {
        const cudaError_t e = cudaMalloc(&data, bytes);
        if (e != cudaSuccess) {
            cudaGetLastError();
            return fail(e == cudaErrorMemoryAllocation ? COEVO_OUT_OF_MEMORY : COEVO_CUDA_ERROR,
                        "coevo_buffer_alloc: cudaMalloc of %zu bytes on device %d: %s: %s", bytes, context->device,
                        cudaGetErrorName(e), cudaGetErrorString(e));
        }
    }
    auto* buffer = new (std::nothrow) coevo_buffer{context->device, bytes, data};
    if (buffer == nullptr) {
        cudaFree(data);
        return fail(COEVO_OUT_OF_MEMORY, "coevo_buffer_alloc: host allocation failed");
    }
    *out_buffer = buffer;
    return COEVO_OK;
}

COEVO_API void coevo_buffer_free(coevo_buffer* buffer) {
    if (buffer == nullptr) return;
    if (buffer->data != nullptr && cudaSetDevice(buffer->device) == cudaSuccess) cudaFree(buffer->data);
    cudaGetLastError();  // free never fails (e.g. at process exit the runtime may already be unloading)
    delete buffer;
}

COEVO_API size_t coevo_buffer_size(const coevo_buffer* buffer) { return buffer == nullptr ? 0 : buffer->bytes; }

COEVO_API coevo_status coevo_buffer_upload(coevo_context* context, coevo_buffer* buffer, size_t offset,
                                           const void* src, size_t bytes) {
    return coevo::copy_and_wait(context, buffer, offset, const_cast<void*>(src), bytes, cudaMemcpyHostToDevice,
                                "coevo_buffer_upload");
}

COEVO_API coevo_status coevo_buffer_download(coevo_context* context, const coevo_buffer* buffer, size_t offset,
                                             void* dst, size_t bytes) {
    return coevo::copy_and_wait(context, buffer, offset, dst, bytes, cudaMemcpyDeviceToHost, "coevo_buffer_download");
}

COEVO_API coevo_status coevo_buffer_copy(coevo_context* context, coevo_buffer* dst, size_t dst_offset,
                                         const coevo_buffer* src, size_t src_offset, size_t bytes) {
    static const char* const fn = "coevo_buffer_copy";
    coevo::Args a(context, fn);
    a.buffer(dst, 0, "dst").buffer(src, 0, "src");
    if (!a) return a.status;
    coevo_status s = coevo::check_range(dst, dst_offset, bytes, fn);
    if (s == COEVO_OK) s = coevo::check_range(src, src_offset, bytes, fn);
    if (s != COEVO_OK) return s;
    if (!a.activate()) return a.status;
    if (bytes == 0) return COEVO_OK;
    COEVO_CUDA_TRY(cudaMemcpyAsync(static_cast<char*>(dst->data) + dst_offset,
                                   static_cast<const char*>(src->data) + src_offset, bytes, cudaMemcpyDeviceToDevice,
                                   context->stream));
    return COEVO_OK;
}

COEVO_API coevo_status coevo_buffer_zero(coevo_context* context, coevo_buffer* buffer) {
    coevo::Args a(context, "coevo_buffer_zero");
    if (!a.buffer(buffer, 0, "buffer").activate()) return a.status;
    if (buffer->bytes == 0) return COEVO_OK;
    COEVO_CUDA_TRY(cudaMemsetAsync(buffer->data, 0, buffer->bytes, context->stream));
    return COEVO_OK;
}

COEVO_API coevo_status coevo_context_set_attention_kernel(coevo_context* context, coevo_attention_kernel kernel) {
    coevo::Args a(context, "coevo_context_set_attention_kernel");
    if (!a.that(kernel == COEVO_ATTENTION_FMA || kernel == COEVO_ATTENTION_TENSOR_CORES,
                "kernel must be COEVO_ATTENTION_FMA (0) or COEVO_ATTENTION_TENSOR_CORES (1)"))
        return a.status;
    context->attention = kernel;
    return COEVO_OK;
}

COEVO_API coevo_status coevo_context_timer_start(coevo_context* context) {
    coevo::Args a(context, "coevo_context_timer_start");
    if (!a.activate()) return a.status;
    if (context->timer_start == nullptr) {
        COEVO_CUDA_TRY(cudaEventCreate(&context->timer_start));
        COEVO_CUDA_TRY(cudaEventCreate(&context->timer_stop));
    }
    COEVO_CUDA_TRY(cudaEventRecord(context->timer_start, context->stream));
    return COEVO_OK;
}

COEVO_API coevo_status coevo_context_timer_stop(coevo_context* context, float* out_milliseconds) {
    coevo::Args a(context, "coevo_context_timer_stop");
    a.that(out_milliseconds != nullptr, "out_milliseconds is NULL")
        .that(context == nullptr || context->timer_start != nullptr, "coevo_context_timer_start was never called");
    if (!a.activate()) return a.status;
    COEVO_CUDA_TRY(cudaEventRecord(context->timer_stop, context->stream));
    COEVO_CUDA_TRY(cudaEventSynchronize(context->timer_stop));
    COEVO_CUDA_TRY(cudaEventElapsedTime(out_milliseconds, context->timer_start, context->timer_stop));
    return COEVO_OK;
}

COEVO_API coevo_status coevo_context_memory(coevo_context* context, int reset_peak, size_t* out_free,
                                            size_t* out_total, size_t* out_scratch_peak) {
    coevo::Args a(context, "coevo_context_memory");
    a.that(out_free != nullptr && out_total != nullptr && out_scratch_peak != nullptr, "an out-parameter is NULL");
    if (!a.activate()) return a.status;
    COEVO_CUDA_TRY(cudaStreamSynchronize(context->stream));
    size_t free_bytes = 0, total_bytes = 0;
    COEVO_CUDA_TRY(cudaMemGetInfo(&free_bytes, &total_bytes));
    cudaMemPool_t pool = nullptr;
    COEVO_CUDA_TRY(cudaDeviceGetDefaultMemPool(&pool, context->device));
    std::uint64_t high = 0;
    COEVO_CUDA_TRY(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &high));
    if (reset_peak) {
        std::uint64_t zero = 0;
        COEVO_CUDA_TRY(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &zero));
    }
    *out_free = free_bytes;
    *out_total = total_bytes;
    *out_scratch_peak = static_cast<size_t>(high);
    return COEVO_OK;
}

}  // extern "C"
