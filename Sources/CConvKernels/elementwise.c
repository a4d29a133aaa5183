// Adam's update, the activations', dropout's and BatchNorm's loops, vectorized. Swift compiles
// the engine for the baseline x86-64 (SSE2), where its SIMD16 code became 4-wide at best and
// Adam's square root a scalar sqrtss per value: Adam was 11.8 % of a one-thread conditional-GAN
// step and tanh 2.8 %. Here each loop exists as AVX-512, AVX2 and baseline code
// (elementwise_body.inc, batchnorm_body.inc), picked at run time by zoo_conv_kernels_level. The
// Swift loops (Vectorized.swift, fastTanh, Dropout.referenceMask, BatchNorm's dense loops) stay
// the references; ElementwiseKernelTests compares every level with them bit for bit.
#include "zoo_elementwise.h"
#include "zoo_conv_kernels.h"

#pragma clang fp contract(off)

typedef float v16 __attribute__((ext_vector_type(16)));
typedef int i16 __attribute__((ext_vector_type(16)));
typedef unsigned short u16x16 __attribute__((ext_vector_type(16)));

// Macros, not functions: a helper taking or returning a 16-float vector would need the
// instruction set of its caller, and it has three callers with three.
#define load16(p) ({ v16 loaded_; __builtin_memcpy(&loaded_, (p), sizeof loaded_); loaded_; })
#define store16(p, value) do { v16 stored_ = (value); __builtin_memcpy((p), &stored_, sizeof stored_); } while (0)
#define select16(mask, a, b) ((v16)(((mask) & (i16)(a)) | (~(mask) & (i16)(b))))
#define abs16(a) ((v16)((i16)(a) & 0x7fffffff))

// fastTanh's constants (Activations.swift), as float literals: the same roundings as Swift's.
#define TANH_LINEAR 0.0004f
#define LOW_CLAMP -7.90531110763549805f
#define HIGH_CLAMP 7.90531110763549805f
#define TANH_P0 -2.76076847742355e-16f
#define TANH_P1 2.00018790482477e-13f
#define TANH_P2 -8.60467152213735e-11f
#define TANH_P3 5.12229709037114e-08f
#define TANH_P4 1.48572235717979e-05f
#define TANH_P5 6.37261928875436e-04f
#define TANH_P6 4.89352455891786e-03f
#define TANH_Q0 1.19825839466702e-06f
#define TANH_Q1 1.18534705686654e-04f
#define TANH_Q2 2.26843463243900e-03f
#define TANH_Q3 4.89352518554385e-03f

#define ELEMENTWISE_ATTR
#define ELEMENTWISE_NAME(name) name##_baseline
#include "elementwise_body.inc"
#include "batchnorm_body.inc"
#undef ELEMENTWISE_ATTR
#undef ELEMENTWISE_NAME

#if defined(__x86_64__)
#define ELEMENTWISE_ATTR __attribute__((target("avx2")))
#define ELEMENTWISE_NAME(name) name##_avx2
#include "elementwise_body.inc"
#include "batchnorm_body.inc"
#undef ELEMENTWISE_ATTR
#undef ELEMENTWISE_NAME

#define ELEMENTWISE_ATTR __attribute__((target("avx512f")))
#define ELEMENTWISE_NAME(name) name##_avx512
#include "elementwise_body.inc"
#include "batchnorm_body.inc"
#undef ELEMENTWISE_ATTR
#undef ELEMENTWISE_NAME
#define PICK(name, ...) \
    (zoo_conv_kernels_level() >= 2 ? name##_avx512(__VA_ARGS__) \
     : zoo_conv_kernels_level() == 1 ? name##_avx2(__VA_ARGS__) : name##_baseline(__VA_ARGS__))
#else
#define PICK(name, ...) name##_baseline(__VA_ARGS__)
#endif
#define PICK_VOID(name, ...) ((void)PICK(name, __VA_ARGS__))

static float tanh_scalar(float value) {
    if (__builtin_fabsf(value) < TANH_LINEAR) return value;
    float x = LOW_CLAMP >= value ? LOW_CLAMP : value;
    x = HIGH_CLAMP < x ? HIGH_CLAMP : x;
    float x2 = x * x;
    float p = TANH_P0;
    p = p * x2 + TANH_P1; p = p * x2 + TANH_P2; p = p * x2 + TANH_P3;
    p = p * x2 + TANH_P4; p = p * x2 + TANH_P5; p = p * x2 + TANH_P6;
    float q = TANH_Q0;
    q = q * x2 + TANH_Q1; q = q * x2 + TANH_Q2; q = q * x2 + TANH_Q3;
    return x * p / q;
}

void zoo_adam_update(float *w, float *g, float *m, float *v, float b1, float b2, float alpha, float eps,
                     ptrdiff_t count) {
    for (ptrdiff_t i = PICK(adam, w, g, m, v, b1, b2, alpha, eps, count); i < count; i++) {
        float gi = g[i];
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        w[i] -= alpha * m[i] / (__builtin_sqrtf(v[i]) + eps);
        g[i] = 0;
    }
}

void zoo_tanh(const float *x, float *y, ptrdiff_t count) {
    for (ptrdiff_t i = PICK(tanh, x, y, count); i < count; i++) y[i] = tanh_scalar(x[i]);
}

void zoo_tanh_backward(const float *y, const float *dy, float *dx, ptrdiff_t count) {
    for (ptrdiff_t i = PICK(tanh_backward, y, dy, dx, count); i < count; i++) dx[i] = dy[i] * (1 - y[i] * y[i]);
}

void zoo_leaky(const float *keys, const float *values, float *out, float slope, ptrdiff_t count) {
    for (ptrdiff_t i = PICK(leaky, keys, values, out, slope, count); i < count; i++)
        out[i] = keys[i] > 0 ? values[i] : (slope == 0 ? 0 : slope * values[i]);
}

void zoo_dropout_mask(const unsigned short *draws, int threshold, float keep, const float *x,
                      float *mask, float *y, ptrdiff_t count) {
    for (ptrdiff_t i = PICK(dropout, draws, threshold, keep, x, mask, y, count); i < count; i++) {
        mask[i] = draws[i] >= threshold ? keep : 0;
        y[i] = x[i] * mask[i];
    }
}

void zoo_multiply(const float *a, const float *b, float *out, ptrdiff_t count) {
    for (ptrdiff_t i = PICK(multiply, a, b, out, count); i < count; i++) out[i] = a[i] * b[i];
}

void zoo_bn_sums(const float *x, ptrdiff_t ld, int n, int width, double *sum) {
    PICK_VOID(bn_sums, x, ld, n, width, sum);
}

void zoo_bn_squares(const float *x, ptrdiff_t ld, int n, int width, const float *mean, double *sq) {
    PICK_VOID(bn_squares, x, ld, n, width, mean, sq);
}

void zoo_bn_normalize(const float *x, ptrdiff_t ld, int n, int width, const float *mean, const float *inv,
                      const float *gamma, const float *beta, float slope, float *hs, float *y) {
    PICK_VOID(bn_normalize, x, ld, n, width, mean, inv, gamma, beta, slope, hs, y);
}

void zoo_bn_backward_sums(const float *y, const float *dy, const float *h, ptrdiff_t ld, int n, int width, float slope,
                          double *sumDy, double *sumDyH) {
    PICK_VOID(bn_backward_sums, y, dy, h, ld, n, width, slope, sumDy, sumDyH);
}

void zoo_bn_backward_input(const float *y, const float *dy, const float *h, ptrdiff_t ld, int n, int width, float slope,
                           const float *k, const float *meanDy, const float *sumDyH, float m, int training, float *dx) {
    PICK_VOID(bn_backward_input, y, dy, h, ld, n, width, slope, k, meanDy, sumDyH, m, training, dx);
}
