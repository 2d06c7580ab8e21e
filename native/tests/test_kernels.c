/* Native test of the bf16 kernels through the C ABI only, against plain double references written here (independent
 * of the C# twins the parity harness uses): small shapes, every family once, both attention kernels. Exit 77
 * (CTest "skipped") without a GPU. Tolerance: max |error| <= 2^-7 of max |reference| (bf16 storage, fp32 maths). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coevo.h"
#include "test_support.h"

static coevo_context* ctx = NULL;

static float uniform(void) { return next_uniform(); }

/* bf16 bits of x, rounded to nearest even (finite inputs), and back. */
static uint16_t to_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}
static float from_bf16(uint16_t b) {
    uint32_t u = (uint32_t)b << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

/* n random values rounded to bf16 (as floats) and their bits. */
static float* random_bf16(size_t n, float scale, uint16_t** bits) {
    float* v = malloc(n * sizeof(float));
    *bits = malloc(n * sizeof(uint16_t));
    for (size_t i = 0; i < n; i++) {
        (*bits)[i] = to_bf16(scale * uniform());
        v[i] = from_bf16((*bits)[i]);
    }
    return v;
}

static coevo_buffer* upload(const void* data, size_t bytes) {
    coevo_buffer* b = NULL;
    coevo_status s = coevo_buffer_alloc(ctx, bytes, &b);
    if (s == COEVO_OK && data != NULL) s = coevo_buffer_upload(ctx, b, 0, data, bytes);
    CHECK(s == COEVO_OK, "upload of %zu bytes: %s", bytes, coevo_last_error());
    return b;
}

static float* download_bf16(const coevo_buffer* b, size_t n) {
    uint16_t* bits = malloc(n * sizeof(uint16_t));
    float* v = malloc(n * sizeof(float));
    coevo_status s = coevo_buffer_download(ctx, b, 0, bits, n * sizeof(uint16_t));
    CHECK(s == COEVO_OK, "download: %s", coevo_last_error());
    for (size_t i = 0; i < n; i++) v[i] = from_bf16(bits[i]);
    free(bits);
    return v;
}

static float* download_f32(const coevo_buffer* b, size_t n) {
    float* v = malloc(n * sizeof(float));
    coevo_status s = coevo_buffer_download(ctx, b, 0, v, n * sizeof(float));
    CHECK(s == COEVO_OK, "download: %s", coevo_last_error());
    return v;
}

/* max |got - want| <= tol * max |want| (and every value finite). */
static void compare(const char* what, const float* got, const double* want, size_t n, double tol) {
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(got[i])) {
            CHECK(0, "%s[%zu] is not finite", what, i);
            return;
        }
        worst = fmax(worst, fabs(got[i] - want[i]));
        scale = fmax(scale, fabs(want[i]));
    }
    CHECK(worst <= tol * scale + 1e-30, "%s: max error %.3g > %.3g x max |reference| %.3g", what, worst, tol, scale);
    printf("%-28s max error %.3g (max |reference| %.3g)\n", what, worst, scale);
}

static void status(coevo_status s, const char* what) { CHECK(s == COEVO_OK, "%s: %d %s", what, (int)s, coevo_last_error()); }

static const double kTol = 1.0 / 128;

static void test_swiglu(int rows, int width) {
    size_t n = (size_t)rows * width;
    uint16_t *gb, *ub;
    float* g = random_bf16(n, 4, &gb);
    float* u = random_bf16(n, 2, &ub);
    double* want = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) want[i] = g[i] / (1 + exp(-g[i])) * u[i];
    coevo_buffer *bg = upload(gb, n * 2), *bu = upload(ub, n * 2), *bh = upload(NULL, n * 2);
    status(coevo_swiglu_forward(ctx, bg, bu, bh, rows, width), "swiglu_forward");
    float* h = download_bf16(bh, n);
    compare(rows * width % 8 ? "swiglu forward (scalar)" : "swiglu forward (16-byte)", h, want, n, kTol);
    coevo_buffer_free(bg), coevo_buffer_free(bu), coevo_buffer_free(bh);
    free(g), free(u), free(gb), free(ub), free(want), free(h);
}

/* Attention: T tokens in sequences `cu`, H query / Hkv kv heads of D, against a double reference (forward, then
 * backward from a random dO), with the given kernel. */
static void test_attention(coevo_attention_kernel kernel) {
    enum { T = 100, S = 2, H = 4, HKV = 2, D = 64 };
    const int cu[S + 1] = {0, 37, 100};
    const size_t nq = (size_t)T * H * D, nk = (size_t)T * HKV * D;
    uint16_t *qb, *kb, *vb, *dob;
    float* q = random_bf16(nq, 1, &qb);
    float* k = random_bf16(nk, 1, &kb);
    float* v = random_bf16(nk, 1, &vb);
    float* dout = random_bf16(nq, 1, &dob);
    double *o = calloc(nq, sizeof(double)), *lse = calloc((size_t)T * H, sizeof(double));
    double *dq = calloc(nq, sizeof(double)), *dk = calloc(nk, sizeof(double)), *dv = calloc(nk, sizeof(double));
    const double scale = 1.0 / sqrt((double)D);
    double p[T], dp[T];
    for (int s = 0; s < S; s++)
        for (int h = 0; h < H; h++)
            for (int t = cu[s]; t < cu[s + 1]; t++) {
                const int g = h / (H / HKV);
                double m = -INFINITY, sum = 0, delta = 0;
                for (int j = cu[s]; j <= t; j++) {
                    double dot = 0;
                    for (int d = 0; d < D; d++) dot += (double)q[((size_t)t * H + h) * D + d] * k[((size_t)j * HKV + g) * D + d];
                    p[j] = dot * scale;
                    m = fmax(m, p[j]);
                }
                for (int j = cu[s]; j <= t; j++) sum += exp(p[j] - m);
                lse[(size_t)t * H + h] = m + log(sum);
                for (int j = cu[s]; j <= t; j++) {
                    p[j] = exp(p[j] - m) / sum;
                    dp[j] = 0;
                    for (int d = 0; d < D; d++) {
                        o[((size_t)t * H + h) * D + d] += p[j] * v[((size_t)j * HKV + g) * D + d];
                        dp[j] += (double)dout[((size_t)t * H + h) * D + d] * v[((size_t)j * HKV + g) * D + d];
                    }
                    delta += p[j] * dp[j];
                }
                for (int j = cu[s]; j <= t; j++) {
                    const double ds = p[j] * (dp[j] - delta);
                    for (int d = 0; d < D; d++) {
                        dq[((size_t)t * H + h) * D + d] += scale * ds * k[((size_t)j * HKV + g) * D + d];
                        dk[((size_t)j * HKV + g) * D + d] += scale * ds * q[((size_t)t * H + h) * D + d];
                        dv[((size_t)j * HKV + g) * D + d] += p[j] * dout[((size_t)t * H + h) * D + d];
                    }
                }
            }
    status(coevo_context_set_attention_kernel(ctx, kernel), "set_attention_kernel");
    coevo_buffer *bq = upload(qb, nq * 2), *bk = upload(kb, nk * 2), *bv = upload(vb, nk * 2), *bdo = upload(dob, nq * 2);
    coevo_buffer *bcu = upload(cu, sizeof cu), *bo = upload(NULL, nq * 2), *bl = upload(NULL, (size_t)T * H * 4);
    coevo_buffer *bdq = upload(NULL, nq * 2), *bdk = upload(NULL, nk * 2), *bdv = upload(NULL, nk * 2);
    status(coevo_attention_forward(ctx, bq, bk, bv, bcu, bo, bl, T, S, 63, H, HKV, D, 0), "attention_forward");
    status(coevo_attention_backward(ctx, bq, bk, bv, bo, bl, bdo, bcu, bdq, bdk, bdv, T, S, 63, H, HKV, D, 0),
           "attention_backward");
    const char* name = kernel == COEVO_ATTENTION_TENSOR_CORES ? "tensor cores" : "fma";
    char what[64];
    float* got = download_bf16(bo, nq);
    snprintf(what, sizeof what, "attention o (%s)", name);
    compare(what, got, o, nq, kTol);
    free(got);
    got = download_f32(bl, (size_t)T * H);
    snprintf(what, sizeof what, "attention lse (%s)", name);
    compare(what, got, lse, (size_t)T * H, 1e-4);
    free(got);
    got = download_bf16(bdq, nq);
    snprintf(what, sizeof what, "attention dq (%s)", name);
    compare(what, got, dq, nq, kTol);
    free(got);
    got = download_bf16(bdk, nk);
    snprintf(what, sizeof what, "attention dk (%s)", name);
    compare(what, got, dk, nk, kTol);
    free(got);
    got = download_bf16(bdv, nk);
    snprintf(what, sizeof what, "attention dv (%s)", name);
    compare(what, got, dv, nk, kTol);
    free(got);
    status(coevo_context_set_attention_kernel(ctx, COEVO_ATTENTION_FMA), "set_attention_kernel");
    coevo_buffer* all[] = {bq, bk, bv, bdo, bcu, bo, bl, bdq, bdk, bdv};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) coevo_buffer_free(all[i]);
    free(q), free(k), free(v), free(dout), free(qb), free(kb), free(vb), free(dob);
    free(o), free(lse), free(dq), free(dk), free(dv);
}

static void test_linear_and_head(void) {
    enum { ROWS = 33, IN = 64, OUT = 48, V = 1000, SCORED = 7 };
    uint16_t *xb, *wb, *hb;
    float* x = random_bf16((size_t)ROWS * IN, 1, &xb);
    float* w = random_bf16((size_t)OUT * IN, 0.2f, &wb);
    double want[ROWS * OUT];
    for (int r = 0; r < ROWS; r++)
        for (int o = 0; o < OUT; o++) {
            double acc = 0;
            for (int i = 0; i < IN; i++) acc += (double)x[r * IN + i] * w[o * IN + i];
            want[r * OUT + o] = acc;
        }
    coevo_buffer *bx = upload(xb, sizeof(uint16_t) * ROWS * IN), *bw = upload(wb, sizeof(uint16_t) * OUT * IN);
    coevo_buffer* by = upload(NULL, sizeof(uint16_t) * ROWS * OUT);
    status(coevo_linear_forward(ctx, bx, bw, NULL, by, ROWS, IN, OUT), "linear_forward");
    float* y = download_bf16(by, (size_t)ROWS * OUT);
    compare("linear forward (cuBLAS)", y, want, (size_t)ROWS * OUT, kTol);

    /* The head over the first rows of x as hidden states: scored rows 1, 4, 5, ... with random targets. */
    float* head = random_bf16((size_t)V * IN, 0.5f, &hb);
    int rows[SCORED] = {1, 4, 5, 9, 20, 21, 32}, targets[ROWS];
    double want_logp[ROWS] = {0};
    for (int t = 0; t < ROWS; t++) targets[t] = (int)((uniform() + 1) * 0.5 * V) % V;
    for (int i = 0; i < SCORED; i++) {
        const int t = rows[i];
        double z[V], m = -INFINITY, sum = 0;
        for (int j = 0; j < V; j++) {
            z[j] = 0;
            for (int c = 0; c < IN; c++) z[j] += (double)x[t * IN + c] * head[j * IN + c];
            m = fmax(m, z[j]);
        }
        for (int j = 0; j < V; j++) sum += exp(z[j] - m);
        want_logp[t] = z[targets[t]] - m - log(sum);
    }
    coevo_buffer *bh = upload(hb, sizeof(uint16_t) * V * IN), *bt = upload(targets, sizeof targets);
    coevo_buffer *br = upload(rows, sizeof rows), *bp = upload(NULL, 4 * ROWS), *bl = upload(NULL, 4 * ROWS);
    status(coevo_token_logprobs_forward(ctx, bx, bh, bt, br, bp, bl, ROWS, IN, V, SCORED, 3), "token_logprobs_forward");
    float* logp = download_f32(bp, ROWS);
    compare("token log-probs (chunks of 3)", logp, want_logp, ROWS, 1e-4);
    coevo_buffer* all[] = {bx, bw, by, bh, bt, br, bp, bl};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) coevo_buffer_free(all[i]);
    free(x), free(w), free(xb), free(wb), free(y), free(head), free(hb), free(logp);
}

static void test_sampling_and_adamw(void) {
    enum { ROWS = 3, V = 5000, N = 1001 };
    float* logits = malloc(sizeof(float) * ROWS * V);
    int best[ROWS];
    for (int r = 0; r < ROWS; r++) {
        best[r] = 0;
        for (int j = 0; j < V; j++) {
            logits[r * V + j] = from_bf16(to_bf16(4 * uniform()));
            if (logits[r * V + j] > logits[r * V + best[r]]) best[r] = j;
        }
    }
    const float u[ROWS] = {0.1f, 0.5f, 0.9f};
    int ids[ROWS];
    coevo_buffer *bl = upload(logits, sizeof(float) * ROWS * V), *bu = upload(u, sizeof u), *bi = upload(NULL, sizeof ids);
    status(coevo_sample_tokens(ctx, bl, bu, bi, ROWS, V, 0.0f, 0, 1.0f), "sample_tokens greedy");
    status(coevo_buffer_download(ctx, bi, 0, ids, sizeof ids), "download");
    for (int r = 0; r < ROWS; r++) CHECK(ids[r] == best[r], "greedy row %d: %d, argmax %d", r, ids[r], best[r]);
    status(coevo_sample_tokens(ctx, bl, bu, bi, ROWS, V, 1.0f, 1, 1.0f), "sample_tokens top-1");
    status(coevo_buffer_download(ctx, bi, 0, ids, sizeof ids), "download");
    for (int r = 0; r < ROWS; r++) CHECK(ids[r] == best[r], "top-k 1 row %d: %d, argmax %d", r, ids[r], best[r]);
    printf("%-28s greedy and top-1 pick the argmax\n", "sampling");

    float p[N], g[N], m[N], v[N];
    double want[N];
    for (int i = 0; i < N; i++) {
        p[i] = 0.1f * uniform(), g[i] = 0.01f * uniform(), m[i] = 0, v[i] = 0;
        /* step 1 from zero moments: m = 0.1 g, v = 0.001 g^2, update = lr * g / (|g| + eps) after bias correction */
        want[i] = p[i] * (1 - 1e-3 * 0.01) - 1e-3 * g[i] / (fabs((double)g[i]) + 1e-8);
    }
    coevo_buffer *bp = upload(p, sizeof p), *bg = upload(g, sizeof g), *bm = upload(m, sizeof m), *bv = upload(v, sizeof v);
    status(coevo_adamw_step(ctx, bp, bg, bm, bv, NULL, N, 1e-3f, 0.9, 0.999, 1e-8, 0.01, 1), "adamw_step");
    float* got = download_f32(bp, N);
    compare("adamw step 1", got, want, N, 1e-5);
    coevo_buffer* all[] = {bl, bu, bi, bp, bg, bm, bv};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) coevo_buffer_free(all[i]);
    free(logits), free(got);
}

int main(void) {
    int count = 0;
    coevo_status s = coevo_device_count(&count);
    if (s != COEVO_OK || count == 0) {
        printf("no CUDA device: kernel tests skipped\n");
        return SKIPPED;
    }
    status(coevo_context_create(0, &ctx), "context");
    if (ctx == NULL) return 1;
    test_swiglu(16, 256);
    test_swiglu(7, 33);
    test_attention(COEVO_ATTENTION_FMA);
    test_attention(COEVO_ATTENTION_TENSOR_CORES);
    test_linear_and_head();
    test_sampling_and_adamw();
    status(coevo_context_synchronize(ctx), "synchronize");
    coevo_context_destroy(ctx);
    printf("%s (%d failure(s))\n", failures ? "FAILED" : "passed", failures);
    return failures ? 1 : 0;
}
