/* Native test of libcoevo_cuda through its C ABI only (also proves coevo.h is plain C).
 * Part 1 runs anywhere the library loads: version and argument checks that fail before touching a device.
 * Part 2 needs a CUDA device (else exit 77 = skipped for CTest): coevo_rmsnorm_forward_f32 against a plain C
 * reference computed in double, on the shapes the models use. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coevo.h"
#include "test_support.h"

static void reference_rmsnorm(const float* x, const float* w, double* y, double* rstd, int rows, int dim, double eps) {
    for (int r = 0; r < rows; r++) {
        double ss = 0.0;
        for (int c = 0; c < dim; c++) ss += (double)x[(size_t)r * dim + c] * x[(size_t)r * dim + c];
        rstd[r] = 1.0 / sqrt(ss / dim + eps);
        for (int c = 0; c < dim; c++) y[(size_t)r * dim + c] = x[(size_t)r * dim + c] * rstd[r] * w[c];
    }
}

static void test_without_device(void) {
    CHECK(coevo_abi_version() == COEVO_ABI_VERSION, "abi %d != header %d", coevo_abi_version(), COEVO_ABI_VERSION);
    CHECK(coevo_version() == COEVO_VERSION_MAJOR * 10000 + COEVO_VERSION_MINOR * 100 + COEVO_VERSION_PATCH,
          "version %d", coevo_version());
    CHECK(strstr(coevo_build_info(), "CUDA runtime") != NULL, "build info '%s'", coevo_build_info());
    coevo_status s = coevo_rmsnorm_forward_f32(NULL, NULL, NULL, NULL, NULL, 4, 4, 1e-6f);
    CHECK(s == COEVO_INVALID_ARGUMENT, "NULL context gave %d", (int)s);
    CHECK(strstr(coevo_last_error(), "context is NULL") != NULL, "message '%s'", coevo_last_error());
    CHECK(coevo_device_count(NULL) == COEVO_INVALID_ARGUMENT, "NULL count accepted");
    coevo_context_destroy(NULL);
    coevo_buffer_free(NULL);
    CHECK(coevo_buffer_size(NULL) == 0, "size of NULL");
}

static void test_shape(coevo_context* ctx, int rows, int dim) {
    const float eps = 1e-5f;
    const size_t n = (size_t)rows * dim;
    float* x = malloc(n * sizeof(float));
    float* w = malloc((size_t)dim * sizeof(float));
    float* y = malloc(n * sizeof(float));
    float* rstd = malloc((size_t)rows * sizeof(float));
    double* y_ref = malloc(n * sizeof(double));
    double* rstd_ref = malloc((size_t)rows * sizeof(double));
    for (size_t i = 0; i < n; i++) x[i] = 3.0f * next_uniform();
    for (int c = 0; c < dim; c++) w[c] = 1.0f + 0.25f * next_uniform();
    reference_rmsnorm(x, w, y_ref, rstd_ref, rows, dim, eps);

    coevo_buffer *bx = NULL, *bw = NULL, *by = NULL, *br = NULL;
    coevo_status s = coevo_buffer_alloc(ctx, n * sizeof(float), &bx);
    if (s == COEVO_OK) s = coevo_buffer_alloc(ctx, (size_t)dim * sizeof(float), &bw);
    if (s == COEVO_OK) s = coevo_buffer_alloc(ctx, n * sizeof(float), &by);
    if (s == COEVO_OK) s = coevo_buffer_alloc(ctx, (size_t)rows * sizeof(float), &br);
    if (s == COEVO_OK) s = coevo_buffer_upload(ctx, bx, 0, x, n * sizeof(float));
    if (s == COEVO_OK) s = coevo_buffer_upload(ctx, bw, 0, w, (size_t)dim * sizeof(float));
    if (s == COEVO_OK) s = coevo_rmsnorm_forward_f32(ctx, bx, bw, by, br, rows, dim, eps);
    if (s == COEVO_OK) s = coevo_buffer_download(ctx, by, 0, y, n * sizeof(float));
    if (s == COEVO_OK) s = coevo_buffer_download(ctx, br, 0, rstd, (size_t)rows * sizeof(float));
    CHECK(s == COEVO_OK, "rows=%d dim=%d: status %d: %s", rows, dim, (int)s, coevo_last_error());

    if (s == COEVO_OK) {
        double worst = 0.0;
        for (size_t i = 0; i < n; i++) {
            double err = fabs(y[i] - y_ref[i]) / (fabs(y_ref[i]) + 1e-6);
            if (err > worst) worst = err;
        }
        for (int r = 0; r < rows; r++) {
            double err = fabs(rstd[r] - rstd_ref[r]) / rstd_ref[r];
            if (err > worst) worst = err;
        }
        CHECK(worst < 1e-5, "rows=%d dim=%d: worst relative error %.3g", rows, dim, worst);
        printf("rmsnorm rows=%d dim=%d: worst relative error vs double reference %.3g\n", rows, dim, worst);
    }

    /* A too-small y (the rstd buffer) must be refused with a message, before any launch. */
    if (dim > 1) {
        s = coevo_rmsnorm_forward_f32(ctx, bx, bw, br, by, rows, dim, eps);
        CHECK(s == COEVO_INVALID_ARGUMENT && strstr(coevo_last_error(), "y [rows, dim]") != NULL,
              "swapped y/rstd gave %d '%s'", (int)s, coevo_last_error());
    }

    coevo_buffer_free(bx);
    coevo_buffer_free(bw);
    coevo_buffer_free(by);
    coevo_buffer_free(br);
    free(x), free(w), free(y), free(rstd), free(y_ref), free(rstd_ref);
}

int main(void) {
    test_without_device();

    int count = 0;
    coevo_status s = coevo_device_count(&count);
    if (s != COEVO_OK || count == 0) {
        printf("no CUDA device (%s): device tests skipped\n", s == COEVO_OK ? "0 devices" : coevo_last_error());
        return failures ? 1 : SKIPPED;
    }

    coevo_context* ctx = NULL;
    s = coevo_context_create(0, &ctx);
    CHECK(s == COEVO_OK, "context: %s", coevo_last_error());
    if (s == COEVO_OK) {
        static const int shapes[][2] = {{64, 576}, {128, 2048}, {512, 4096}, {100, 100}, {33, 77}, {3, 1}, {7, 5000}};
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) test_shape(ctx, shapes[i][0], shapes[i][1]);
        CHECK(coevo_context_synchronize(ctx) == COEVO_OK, "synchronize: %s", coevo_last_error());
        coevo_context_destroy(ctx);
    }
    printf("%s (%d failure(s))\n", failures ? "FAILED" : "passed", failures);
    return failures ? 1 : 0;
}
