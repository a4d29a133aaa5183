// im2col and col2im around the convolutions' GEMMs move rows of only 3–14 values (a 7×7 or
// 14×14 image under a 5×5 kernel). Swift's scalar loops spent ~1.7 ns per value on loop
// overhead: col2im was a fifth of a DCGAN generator's inference and im2col 11 % of a DCGAN
// training step. The AVX-512 paths handle a row of up to 16 values as one vector, the AVX2
// ones col2im's rows and im2col's rows of up to 8; other CPUs and shapes take the plain loops.
// ConvGeometry.im2colPortable / col2imPortable stay the references; tests compare them with these.
#include "zoo_conv_kernels.h"

static int ceil_div(int a, int b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

// Outputs o whose input index o·stride − pad + tap lies in 0..<size (ConvGeometry.validRange).
static void valid_range(int size, int pad, int tap, int stride, int outputs, int *lo, int *hi) {
    int l = ceil_div(pad - tap, stride);
    if (l < 0) l = 0;
    if (l > outputs) l = outputs;
    int h = ceil_div(size + pad - tap, stride);
    if (h > outputs) h = outputs;
    if (h < l) h = l;
    *lo = l; *hi = h;
}

static void col2im_plain(const float *cols, ptrdiff_t ld, ptrdiff_t offset, float *image,
                         int channels, int height, int width, int kernel, int stride,
                         int outHeight, int outWidth, int padTop, int padLeft) {
    for (int c = 0; c < channels; c++) {
        float *plane = image + (ptrdiff_t)c * height * width;
        for (int i = 0; i < kernel; i++) {
            int r0, r1;
            valid_range(height, padTop, i, stride, outHeight, &r0, &r1);
            for (int j = 0; j < kernel; j++) {
                const float *row = cols + ((ptrdiff_t)(c * kernel + i) * kernel + j) * ld + offset;
                int c0, c1;
                valid_range(width, padLeft, j, stride, outWidth, &c0, &c1);
                int count = c1 - c0;
                for (int oh = r0; oh < r1; oh++) {
                    float *dst = plane + (ptrdiff_t)(oh * stride - padTop + i) * width + (c0 * stride - padLeft + j);
                    const float *src = row + oh * outWidth + c0;
                    for (int t = 0; t < count; t++) dst[t * stride] += src[t];
                }
            }
        }
    }
}

// im2col one tap (c, i, j) at a time: the tap's column row of outHeight·outWidth entries
// from the channel's plane. The loop over taps is shared; the row filling differs by CPU.
struct tap {
    float *row;            // cols + ((c·k + i)·k + j)·ld + offset
    const float *plane;    // image channel c
    int i, j;              // kernel row and column
    int r0, r1, c0, c1;    // output rows and columns whose pixel lies inside the image
};
struct geometry { int height, width, stride, outHeight, outWidth, padTop, padLeft; };
typedef void (*im2col_tap_fn)(const struct tap *t, const struct geometry *g);

static void im2col_taps(const float *image, float *cols, ptrdiff_t ld, ptrdiff_t offset, int channels, int kernel,
                        const struct geometry *g, im2col_tap_fn fill) {
    for (int c = 0; c < channels; c++) {
        struct tap t;
        t.plane = image + (ptrdiff_t)c * g->height * g->width;
        for (t.i = 0; t.i < kernel; t.i++) {
            valid_range(g->height, g->padTop, t.i, g->stride, g->outHeight, &t.r0, &t.r1);
            for (t.j = 0; t.j < kernel; t.j++) {
                t.row = cols + ((ptrdiff_t)(c * kernel + t.i) * kernel + t.j) * ld + offset;
                valid_range(g->width, g->padLeft, t.j, g->stride, g->outWidth, &t.c0, &t.c1);
                fill(&t, g);
            }
        }
    }
}

static void im2col_tap_plain(const struct tap *t, const struct geometry *g) {
    for (int oh = 0; oh < g->outHeight; oh++) {
        float *dst = t->row + (ptrdiff_t)oh * g->outWidth;
        if (oh < t->r0 || oh >= t->r1 || t->c0 >= t->c1) {
            for (int ow = 0; ow < g->outWidth; ow++) dst[ow] = 0;
            continue;
        }
        // Zeros, the row's in-image pixels, zeros: no test per value.
        const float *src = t->plane + (ptrdiff_t)(oh * g->stride - g->padTop + t->i) * g->width
                         + (t->c0 * g->stride - g->padLeft + t->j);
        for (int ow = 0; ow < t->c0; ow++) dst[ow] = 0;
        if (g->stride == 1) {
            for (int ow = t->c0; ow < t->c1; ow++) dst[ow] = src[ow - t->c0];
        } else {
            for (int ow = t->c0; ow < t->c1; ow++) dst[ow] = src[(ow - t->c0) * g->stride];
        }
        for (int ow = t->c1; ow < g->outWidth; ow++) dst[ow] = 0;
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

// Rows of up to 8 values (outWidth ≤ 8: the 7×7 outputs of D's conv2 and of the generator's
// weight gradients) as one AVX2 vector: lanes c0..<c1 gather their pixel (at any stride),
// the others are zero, and a masked store writes the row.
__attribute__((target("avx2")))
static void im2col_tap_avx2(const struct tap *t, const struct geometry *g) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i rowMask = _mm256_cmpgt_epi32(_mm256_set1_epi32(g->outWidth), lanes);
    const __m256i place = _mm256_and_si256(_mm256_cmpgt_epi32(lanes, _mm256_set1_epi32(t->c0 - 1)),
                                           _mm256_cmpgt_epi32(_mm256_set1_epi32(t->c1), lanes));
    // Lane ow reads image column ow·stride − padLeft + j, relative to lane c0's column.
    const __m256i index = _mm256_mullo_epi32(_mm256_sub_epi32(lanes, _mm256_set1_epi32(t->c0)), _mm256_set1_epi32(g->stride));
    const int first = t->c0 * g->stride - g->padLeft + t->j;   // image column of lane c0
    const int any = t->c1 > t->c0;
    for (int oh = 0; oh < g->outHeight; oh++) {
        float *dst = t->row + (ptrdiff_t)oh * g->outWidth;
        __m256 v = _mm256_setzero_ps();
        if (any && oh >= t->r0 && oh < t->r1) {
            const float *src = t->plane + (ptrdiff_t)(oh * g->stride - g->padTop + t->i) * g->width + first;
            // Masked-off lanes are never read, so their (negative) offsets from src are harmless.
            v = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), src, index, _mm256_castsi256_ps(place), 4);
        }
        _mm256_maskstore_ps(dst, rowMask, v);
    }
}

// Table sizes of the vector col2im kernels: taps per kernel row, 16- and 8-lane segments a row.
enum { COL2IM_MAX_TAPS = 16, COL2IM_MAX_SEGMENTS_16 = 64, COL2IM_MAX_SEGMENTS_8 = 32 };

// The column row oh whose kernel row i lands on image row y (y = oh·stride − padTop + i),
// or -1 when none does: the gather-form col2im kernels visit image rows, not column rows.
static inline int source_row(int y, int i, int padTop, int stride, int outHeight) {
    int t = y + padTop - i;
    if (t < 0 || t % stride != 0) return -1;
    int oh = t / stride;
    return oh < outHeight ? oh : -1;
}

// Gather form: each image row is built in registers, 16 pixels at a time, from every tap
// that reaches it, then stored once. (Adding each tap's row into memory in turn made every
// masked load wait on the previous, overlapping, store: no faster than scalar code.) A tap
// (i, j) reaches row y when (y + padTop − i) is a multiple of the stride; its values land
// on every stride-th pixel, which is what an expand-load does: consecutive column entries
// into the lanes of a mask.
__attribute__((target("avx512f")))
static void col2im_avx512(const float *cols, ptrdiff_t ld, ptrdiff_t offset, float *image,
                          int channels, int height, int width, int kernel, int stride,
                          int outHeight, int outWidth, int padTop, int padLeft) {
    int segments = (width + 15) / 16;   // zoo_col2im checks: ≤ COL2IM_MAX_SEGMENTS_16
    // Per column tap j and 16-pixel segment: the lanes it fills and its first column entry.
    __mmask16 mask[COL2IM_MAX_TAPS][COL2IM_MAX_SEGMENTS_16];
    int first[COL2IM_MAX_TAPS][COL2IM_MAX_SEGMENTS_16];
    for (int j = 0; j < kernel; j++) {
        int c0, c1;
        valid_range(width, padLeft, j, stride, outWidth, &c0, &c1);
        for (int g = 0; g < segments; g++) {
            int xb = 16 * g;
            unsigned m = 0;
            int f = -1;
            for (int ow = c0; ow < c1; ow++) {
                int lane = ow * stride - padLeft + j - xb;
                if (lane < 0 || lane >= 16) continue;
                if (f < 0) f = ow;
                m |= 1u << lane;
            }
            mask[j][g] = (__mmask16)m;
            first[j][g] = f < 0 ? 0 : f;
        }
    }
    for (int c = 0; c < channels; c++) {
        float *plane = image + (ptrdiff_t)c * height * width;
        const float *channelRows = cols + (ptrdiff_t)c * kernel * kernel * ld + offset;
        for (int y = 0; y < height; y++) {
            float *dstRow = plane + (ptrdiff_t)y * width;
            for (int g = 0; g < segments; g++) {
                int lanes = width - 16 * g < 16 ? width - 16 * g : 16;
                __mmask16 rowMask = (__mmask16)((1u << lanes) - 1);
                __m512 acc = _mm512_maskz_loadu_ps(rowMask, dstRow + 16 * g);
                for (int i = 0; i < kernel; i++) {
                    int oh = source_row(y, i, padTop, stride, outHeight);
                    if (oh < 0) continue;
                    const float *tapRows = channelRows + (ptrdiff_t)i * kernel * ld + oh * outWidth;
                    for (int j = 0; j < kernel; j++) {
                        __mmask16 m = mask[j][g];
                        if (!m) continue;
                        acc = _mm512_add_ps(acc, _mm512_maskz_expandloadu_ps(m, tapRows + (ptrdiff_t)j * ld + first[j][g]));
                    }
                }
                _mm512_mask_storeu_ps(dstRow + 16 * g, rowMask, acc);
            }
        }
    }
}

// im2col, the other way round: each output row (up to 16 values) is one vector. Stride 1:
// an expand-load puts the row's in-image pixels in their lanes, zeros elsewhere. Stride 2:
// load the span, keep every other value (compress), then place them (expand). Only for
// outWidth ≤ 16 and stride ≤ 2 (zoo_im2col checks).
__attribute__((target("avx512f")))
static void im2col_tap_avx512(const struct tap *t, const struct geometry *g) {
    const __mmask16 rowMask = (__mmask16)((1u << g->outWidth) - 1);
    int count = t->c1 - t->c0;
    __mmask16 place = count > 0 ? (__mmask16)(((1u << count) - 1) << t->c0) : 0;
    __mmask16 span = count > 0 && g->stride * (count - 1) + 1 <= 16 ? (__mmask16)((1u << (g->stride * (count - 1) + 1)) - 1) : 0;
    int first = t->c0 * g->stride - g->padLeft + t->j;   // image column of lane c0
    for (int oh = 0; oh < g->outHeight; oh++) {
        float *dst = t->row + (ptrdiff_t)oh * g->outWidth;
        __m512 v = _mm512_setzero_ps();
        if (oh >= t->r0 && oh < t->r1 && count > 0) {
            const float *src = t->plane + (ptrdiff_t)(oh * g->stride - g->padTop + t->i) * g->width + first;
            if (g->stride == 1) {
                v = _mm512_maskz_expandloadu_ps(place, src);
            } else if (span) {
                __m512 packed = _mm512_maskz_compress_ps((__mmask16)0x5555, _mm512_maskz_loadu_ps(span, src));
                v = _mm512_maskz_expand_ps(place, packed);
            } else {   // stride 2 with more than 8 values: the span would not fit one vector
                for (int ow = 0; ow < g->outWidth; ow++) dst[ow] = (ow >= t->c0 && ow < t->c1) ? src[(ow - t->c0) * 2] : 0;
                continue;
            }
        }
        _mm512_mask_storeu_ps(dst, rowMask, v);
    }
}

// The same gather form in 8 lanes for AVX2 machines (AMD Zen, older Intel), which have no
// expand-load: a masked load takes a tap's consecutive column entries (masked lanes are
// neither read nor faulted) and a lane permutation spreads them onto the pixels they reach
// (every stride-th), the other lanes zeroed. On a 2-core Zen VM the plain loops were 5 % of
// a cold `zoo generate` (~4.8 ms of CPU). Sums run in the same order as col2im_plain's.
__attribute__((target("avx2")))
static void col2im_avx2(const float *cols, ptrdiff_t ld, ptrdiff_t offset, float *image,
                        int channels, int height, int width, int kernel, int stride,
                        int outHeight, int outWidth, int padTop, int padLeft) {
    int segments = (width + 7) / 8;     // zoo_col2im checks: ≤ COL2IM_MAX_SEGMENTS_8
    // Per column tap j and 8-pixel segment: how many consecutive column entries it takes
    // (from `first`), which lane each goes to, and the lanes it fills.
    int taken[COL2IM_MAX_TAPS][COL2IM_MAX_SEGMENTS_8], first[COL2IM_MAX_TAPS][COL2IM_MAX_SEGMENTS_8];
    __m256i spread[COL2IM_MAX_TAPS][COL2IM_MAX_SEGMENTS_8], fills[COL2IM_MAX_TAPS][COL2IM_MAX_SEGMENTS_8];
    for (int j = 0; j < kernel; j++) {
        int c0, c1;
        valid_range(width, padLeft, j, stride, outWidth, &c0, &c1);
        for (int g = 0; g < segments; g++) {
            int xb = 8 * g, f = -1, count = 0;
            int index[8] = {0}, fill[8] = {0};
            for (int ow = c0; ow < c1; ow++) {
                int lane = ow * stride - padLeft + j - xb;
                if (lane < 0 || lane >= 8) continue;
                if (f < 0) f = ow;
                index[lane] = ow - f;
                fill[lane] = -1;
                count++;
            }
            taken[j][g] = count;
            first[j][g] = f < 0 ? 0 : f;
            spread[j][g] = _mm256_loadu_si256((const __m256i *)index);
            fills[j][g] = _mm256_loadu_si256((const __m256i *)fill);
        }
    }
    __m256i prefix[9];   // prefix[n]: the first n lanes
    for (int n = 0; n <= 8; n++) {
        int m[8];
        for (int l = 0; l < 8; l++) m[l] = l < n ? -1 : 0;
        prefix[n] = _mm256_loadu_si256((const __m256i *)m);
    }
    for (int c = 0; c < channels; c++) {
        float *plane = image + (ptrdiff_t)c * height * width;
        const float *channelRows = cols + (ptrdiff_t)c * kernel * kernel * ld + offset;
        for (int y = 0; y < height; y++) {
            float *dstRow = plane + (ptrdiff_t)y * width;
            for (int g = 0; g < segments; g++) {
                int lanes = width - 8 * g < 8 ? width - 8 * g : 8;
                __m256i rowMask = prefix[lanes];
                __m256 acc = _mm256_maskload_ps(dstRow + 8 * g, rowMask);
                for (int i = 0; i < kernel; i++) {
                    int oh = source_row(y, i, padTop, stride, outHeight);
                    if (oh < 0) continue;
                    const float *tapRows = channelRows + (ptrdiff_t)i * kernel * ld + oh * outWidth;
                    for (int j = 0; j < kernel; j++) {
                        int n = taken[j][g];
                        if (!n) continue;
                        __m256 v = _mm256_maskload_ps(tapRows + (ptrdiff_t)j * ld + first[j][g], prefix[n]);
                        v = _mm256_permutevar8x32_ps(v, spread[j][g]);
                        acc = _mm256_add_ps(acc, _mm256_and_ps(v, _mm256_castsi256_ps(fills[j][g])));
                    }
                }
                _mm256_maskstore_ps(dstRow + 8 * g, rowMask, acc);
            }
        }
    }
}

static int level_limit = 2;

static int cpu_level(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return cached;
}

int zoo_conv_kernels_level(void) { return cpu_level() < level_limit ? cpu_level() : level_limit; }
#else
int zoo_conv_kernels_level(void) { return 0; }
#endif

int zoo_conv_kernels_avx512(void) { return zoo_conv_kernels_level() >= 2; }

void zoo_conv_kernels_limit(int level) {
#if defined(__x86_64__)
    level_limit = level;
#else
    (void)level;
#endif
}

void zoo_col2im(const float *cols, ptrdiff_t ld, ptrdiff_t offset, float *image,
                int channels, int height, int width, int kernel, int stride,
                int outHeight, int outWidth, int padTop, int padLeft) {
#if defined(__x86_64__)
    int level = zoo_conv_kernels_level();
    if (kernel > COL2IM_MAX_TAPS) level = 0;
    if (level >= 2 && (width + 15) / 16 > COL2IM_MAX_SEGMENTS_16) level = 0;
    if (level == 1 && (width + 7) / 8 > COL2IM_MAX_SEGMENTS_8) level = 0;
    if (level >= 2) {
        col2im_avx512(cols, ld, offset, image, channels, height, width, kernel, stride, outHeight, outWidth, padTop, padLeft);
        return;
    }
    if (level == 1) {
        col2im_avx2(cols, ld, offset, image, channels, height, width, kernel, stride, outHeight, outWidth, padTop, padLeft);
        return;
    }
#endif
    col2im_plain(cols, ld, offset, image, channels, height, width, kernel, stride, outHeight, outWidth, padTop, padLeft);
}

void zoo_im2col(const float *image, float *cols, ptrdiff_t ld, ptrdiff_t offset,
                int channels, int height, int width, int kernel, int stride,
                int outHeight, int outWidth, int padTop, int padLeft) {
    struct geometry g = {height, width, stride, outHeight, outWidth, padTop, padLeft};
    im2col_tap_fn fill = im2col_tap_plain;
#if defined(__x86_64__)
    if (zoo_conv_kernels_avx512() && outWidth <= 16 && stride <= 2) fill = im2col_tap_avx512;
    else if (zoo_conv_kernels_level() >= 1 && outWidth <= 8) fill = im2col_tap_avx2;
#endif
    im2col_taps(image, cols, ld, offset, channels, kernel, &g, fill);
}
