// Shared by the Winograd kernels (winograd.c: F(4×4, 5×5); winograd_stride2.c: F(4×4, 3×3)):
// the row combination every transform step is made of, and the per-instruction-set builds.
#ifndef ZOO_WINOGRAD_COMMON_H
#define ZOO_WINOGRAD_COMMON_H
#include "zoo_conv_kernels.h"

#include <stddef.h>
#include <string.h>

enum { CO_BLOCK = 16 };

#define ALWAYS_INLINE static inline __attribute__((always_inline))

// dst[c] = Σ_a coef[a] · src[a·stride + c] for c < count, zero coefficients skipped: every
// step of the transforms is such a row combination, channels innermost. The sums build up
// 16 channels at a time in registers and are stored once (summing into dst term by term
// spent the input transform's time on loads and stores of dst); the terms are added in
// the same order either way.
ALWAYS_INLINE void combine(float *restrict dst, const float *coef, int terms, const float *restrict src,
                           ptrdiff_t stride, int count) {
    int c0 = 0;
    for (; c0 + 16 <= count; c0 += 16) {
        float sum[16] = {0};
        for (int a = 0; a < terms; a++) {
            const float f = coef[a];
            if (f == 0) continue;
            const float *row = src + a * stride + c0;
            for (int v = 0; v < 16; v++) sum[v] += f * row[v];
        }
        for (int v = 0; v < 16; v++) dst[c0 + v] = sum[v];
    }
    for (int c = c0; c < count; c++) dst[c] = 0;
    for (int a = 0; a < terms; a++) {
        const float f = coef[a];
        if (f == 0) continue;
        const float *row = src + a * stride;
        for (int c = c0; c < count; c++) dst[c] += f * row[c];
    }
}

// The filter transforms' two-sided products, CO_BLOCK lanes (channels) at a time, arrays
// laid out [row][column][lane]. M is the m×n matrix G (m points, n taps).
// sandwich:   out = M·in·Mᵀ   (in: n×n → out: m×m), the forward filter transform G·K·Gᵀ;
// unsandwich: out = Mᵀ·in·M   (in: m×m → out: n×n), its adjoint Gᵀ·dU·G.
// Each sums its left product first, terms in index order.
ALWAYS_INLINE void sandwich(int m, int n, const float *M, const float *in, float *out) {
    float half[64 * CO_BLOCK];   // M·in: m×n ≤ 64
    for (int i = 0; i < m; i++)
        for (int b = 0; b < n; b++)
            for (int v = 0; v < CO_BLOCK; v++) {
                float s = 0;
                for (int a = 0; a < n; a++) s += M[i * n + a] * in[(a * n + b) * CO_BLOCK + v];
                half[(i * n + b) * CO_BLOCK + v] = s;
            }
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++)
            for (int v = 0; v < CO_BLOCK; v++) {
                float s = 0;
                for (int b = 0; b < n; b++) s += half[(i * n + b) * CO_BLOCK + v] * M[j * n + b];
                out[(i * m + j) * CO_BLOCK + v] = s;
            }
}

ALWAYS_INLINE void unsandwich(int m, int n, const float *M, const float *in, float *out) {
    float half[64 * CO_BLOCK];   // Mᵀ·in: n×m ≤ 64
    for (int a = 0; a < n; a++)
        for (int j = 0; j < m; j++)
            for (int v = 0; v < CO_BLOCK; v++) {
                float s = 0;
                for (int i = 0; i < m; i++) s += M[i * n + a] * in[(i * m + j) * CO_BLOCK + v];
                half[(a * m + j) * CO_BLOCK + v] = s;
            }
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++)
            for (int v = 0; v < CO_BLOCK; v++) {
                float s = 0;
                for (int j = 0; j < m; j++) s += half[(a * m + j) * CO_BLOCK + v] * M[j * n + b];
                out[(a * n + b) * CO_BLOCK + v] = s;
            }
}

// Stamps a file's transforms once per instruction set: the plain build, AVX2+FMA and AVX-512
// (16 channels a vector, where the CPU has it and the level allows it). The loops vectorize
// over channels with no sums across lanes, so the two vector builds give the same values.
#if defined(__x86_64__)
#define WINO_STAMP_BUILDS(VARIANTS) \
    VARIANTS(plain, ) \
    VARIANTS(avx2, __attribute__((target("avx2,fma")))) \
    VARIANTS(avx512, __attribute__((target("avx512f,avx2,fma"))))
// Level ≥ 1 means the CPU has AVX2, 2 AVX-512 (zoo_conv_kernels_level has run __builtin_cpu_init).
static inline int wino_vector_level(void) {
    if (!__builtin_cpu_supports("fma")) return 0;
    return zoo_conv_kernels_level();
}
#define PICK(name, ...) \
    do { \
        int level_ = wino_vector_level(); \
        if (level_ >= 2) { name##_avx512(__VA_ARGS__); return; } \
        if (level_ == 1) { name##_avx2(__VA_ARGS__); return; } \
        name##_plain(__VA_ARGS__); \
    } while (0)
#else
#define WINO_STAMP_BUILDS(VARIANTS) VARIANTS(plain, )
#define PICK(name, ...) name##_plain(__VA_ARGS__)
#endif

#endif
