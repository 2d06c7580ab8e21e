/* What the native C tests share: the failure counter and CHECK, CTest's "skipped" exit code, a seeded uniform RNG. */
#ifndef COEVO_TEST_SUPPORT_H
#define COEVO_TEST_SUPPORT_H

#include <stdio.h>

#define SKIPPED 77

static int failures = 0;

#define CHECK(cond, ...)                                         \
    do {                                                         \
        if (!(cond)) {                                           \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                        \
            fprintf(stderr, "\n");                               \
            failures++;                                          \
        }                                                        \
    } while (0)

/* Deterministic uniform floats in [-1, 1) (xorshift64). */
static unsigned long long rng_state = 0x2545F4914F6CDD1DULL;
static float next_uniform(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

#endif
