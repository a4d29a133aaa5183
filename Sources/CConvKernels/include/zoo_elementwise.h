#ifndef ZOO_ELEMENTWISE_H
#define ZOO_ELEMENTWISE_H
#include <stddef.h>

// Vectorized elementwise loops (elementwise.c) at the level zoo_conv_kernels_level allows.
// Each gives, bit for bit, what its Swift reference gives (Vectorized.swift, fastTanh).

/// One Adam step over count values (Adam.swift's formula): m, v and w updated in place, g zeroed.
void zoo_adam_update(float *w, float *g, float *m, float *v, float b1, float b2, float alpha, float eps,
                     ptrdiff_t count);

/// y[i] = fastTanh(x[i]).
void zoo_tanh(const float *x, float *y, ptrdiff_t count);

/// dx[i] = dy[i]·(1 − y[i]²), y the forward's output.
void zoo_tanh_backward(const float *y, const float *dy, float *dx, ptrdiff_t count);

/// out[i] = keys[i] > 0 ? values[i] : slope·values[i] (+0 when slope is 0). ReLU and
/// LeakyReLU forward (keys = values = x) and backward (keys = x or y, values = dy).
void zoo_leaky(const float *keys, const float *values, float *out, float slope, ptrdiff_t count);

/// Dropout's forward: mask[i] = draws[i] >= threshold ? keep : 0, y[i] = x[i]·mask[i].
void zoo_dropout_mask(const unsigned short *draws, int threshold, float keep, const float *x,
                      float *mask, float *y, ptrdiff_t count);

/// out[i] = a[i]·b[i].
void zoo_multiply(const float *a, const float *b, float *out, ptrdiff_t count);

// BatchNorm over a [n, width] block of a [n, ld] batch, features contiguous (BatchNorm's
// dense path; pointers start at the block's first feature; per-feature arrays hold `width`).

/// sum[j] += Σ_s x[s·ld + j], in double, sample by sample.
void zoo_bn_sums(const float *x, ptrdiff_t ld, int n, int width, double *sum);

/// sq[j] += Σ_s (double)(x[s·ld + j] − mean[j])², sample by sample.
void zoo_bn_squares(const float *x, ptrdiff_t ld, int n, int width, const float *mean, double *sq);

/// h = (x − mean[j])·inv[j]; y = γ[j]·h + β[j], then y > 0 ? y : slope·y; h into hs unless hs is NULL.
void zoo_bn_normalize(const float *x, ptrdiff_t ld, int n, int width, const float *mean, const float *inv,
                      const float *gamma, const float *beta, float slope, float *hs, float *y);

/// d = y > 0 ? dy : slope·dy; sumDy[j] += Σ d and sumDyH[j] += Σ d·h, in double.
void zoo_bn_backward_sums(const float *y, const float *dy, const float *h, ptrdiff_t ld, int n, int width, float slope,
                          double *sumDy, double *sumDyH);

/// dx = k[j]·(d − meanDy[j] − h·sumDyH[j]/m) in training, k[j]·d otherwise (d as above).
void zoo_bn_backward_input(const float *y, const float *dy, const float *h, ptrdiff_t ld, int n, int width, float slope,
                           const float *k, const float *meanDy, const float *sumDyH, float m, int training, float *dx);

#endif
