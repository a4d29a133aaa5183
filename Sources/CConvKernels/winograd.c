// Winograd F(4×4, 5×5) for a stride-1 5×5 `same` correlation (padding 2 on every side):
// out[co][y][x] = Σ_{ci,a,b} in[ci][y − 2 + a][x − 2 + b] · K(ci, co, a, b).
// Each 4×4 output tile comes from an 8×8 input tile as Aᵀ[(G K Gᵀ) ⊙ (Bᵀ d B)]A, so the
// channel sums become 64 independent GEMMs (one per point t of the 8×8 transform domain),
// M_t[tiles, co] = V_t[tiles, ci] · U_t[ci, co]: 64 multiplies per output tile and channel
// pair instead of 400. Points 0, ±1, ±2, ±½, ∞ (Lavin & Gray 2016); the matrices come from
// the Toom–Cook construction in exact rationals, and the tests hold the whole transform to
// a direct correlation. Loops run channels innermost so they vectorize; each runs in a
// plain, an AVX2+FMA and an AVX-512 build (WINO_VARIANTS), the best the CPU and level allow.
#include "winograd_common.h"

static const float WINO_AT[4][8] = {{1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0},
 {0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 0.0},
 {0.0, 1.0, 1.0, 4.0, 4.0, 0.25, 0.25, 0.0},
 {0.0, 1.0, -1.0, 8.0, -8.0, 0.125, -0.125, 1.0}};
static const float WINO_G[8][5] = {{-1.0, 0.0, 0.0, 0.0, 0.0},
 {-2.0 / 9, -2.0 / 9, -2.0 / 9, -2.0 / 9, -2.0 / 9},
 {-2.0 / 9, 2.0 / 9, -2.0 / 9, 2.0 / 9, -2.0 / 9},
 {1.0 / 90, 1.0 / 45, 2.0 / 45, 4.0 / 45, 8.0 / 45},
 {1.0 / 90, -1.0 / 45, 2.0 / 45, -4.0 / 45, 8.0 / 45},
 {32.0 / 45, 16.0 / 45, 8.0 / 45, 4.0 / 45, 2.0 / 45},
 {32.0 / 45, -16.0 / 45, 8.0 / 45, -4.0 / 45, 2.0 / 45},
 {0.0, 0.0, 0.0, 0.0, 1.0}};
static const float WINO_BT[8][8] = {{-1.0, 0.0, 5.25, 0.0, -5.25, 0.0, 1.0, 0.0},
 {0.0, 1.0, 1.0, -4.25, -4.25, 1.0, 1.0, 0.0},
 {0.0, -1.0, 1.0, 4.25, -4.25, -1.0, 1.0, 0.0},
 {0.0, 0.5, 0.25, -2.5, -1.25, 2.0, 1.0, 0.0},
 {0.0, -0.5, 0.25, 2.5, -1.25, -2.0, 1.0, 0.0},
 {0.0, 2.0, 4.0, -2.5, -5.0, 0.5, 1.0, 0.0},
 {0.0, -2.0, 4.0, 2.5, -5.0, -0.5, 1.0, 0.0},
 {0.0, -1.0, 0.0, 5.25, 0.0, -5.25, 0.0, 1.0}};

// A = (Aᵀ)ᵀ, row i = column i of WINO_AT: the weight gradient's adjoint output transform
// takes a 4×4 tile of dy to A·dY·Aᵀ (8×8).
static const float WINO_A[8][4] = {{1.0, 0.0, 0.0, 0.0},
 {1.0, 1.0, 1.0, 1.0},
 {1.0, -1.0, 1.0, -1.0},
 {1.0, 2.0, 4.0, 8.0},
 {1.0, -2.0, 4.0, -8.0},
 {1.0, 0.5, 0.25, 0.125},
 {1.0, -0.5, 0.25, -0.125},
 {0.0, 0.0, 0.0, 1.0}};

ALWAYS_INLINE void filter_impl(const float *w, int C, int O, int forward, int ci0, int ci1, float *U) {
    const int cin = forward ? C : O, cout = forward ? O : C;
    float k[5][5][CO_BLOCK], u[8][8][CO_BLOCK];
    for (int ci = ci0; ci < ci1; ci++) {
        for (int co0 = 0; co0 < cout; co0 += CO_BLOCK) {
            const int width = cout - co0 < CO_BLOCK ? cout - co0 : CO_BLOCK;
            for (int a = 0; a < 5; a++)
                for (int b = 0; b < 5; b++)
                    for (int v = 0; v < CO_BLOCK; v++) {
                        const int co = co0 + (v < width ? v : 0);
                        // w: [C, O, 5, 5]; the layer's forward reads it flipped, its input gradient as is.
                        k[a][b][v] = forward ? w[((size_t)ci * O + co) * 25 + (4 - a) * 5 + (4 - b)]
                                             : w[((size_t)co * O + ci) * 25 + a * 5 + b];
                    }
            sandwich(8, 5, &WINO_G[0][0], &k[0][0][0], &u[0][0][0]);
            for (int i = 0; i < 8; i++)
                for (int j = 0; j < 8; j++)
                    memcpy(U + ((size_t)(i * 8 + j) * cin + ci) * cout + co0, u[i][j], sizeof(float) * (size_t)width);
        }
    }
}

ALWAYS_INLINE void input_impl(const float *x, int cin, int height, int width, int image0, int image1,
                              float *V, ptrdiff_t tiles, ptrdiff_t tile0, float *scratch) {
    const int th = (height + 3) / 4, tw = (width + 3) / 4;
    const int ph = th * 4 + 4, pw = tw * 4 + 4;
    float *padded = scratch;                            // [ph][pw][cin], zero border
    float *rows = scratch + (size_t)ph * pw * cin;      // [8][8][cin]: Bᵀ·d
    // Each image writes only the interior, so the zero border set here lasts the whole call.
    memset(padded, 0, sizeof(float) * (size_t)ph * pw * cin);
    for (int n = image0; n < image1; n++) {
        const float *image = x + (size_t)n * cin * height * width;
        for (int c = 0; c < cin; c++)
            for (int y = 0; y < height; y++)
                for (int xx = 0; xx < width; xx++)
                    padded[((size_t)(y + 2) * pw + xx + 2) * cin + c] = image[((size_t)c * height + y) * width + xx];
        for (int ty = 0; ty < th; ty++)
            for (int tx = 0; tx < tw; tx++) {
                const ptrdiff_t tile = tile0 + (ptrdiff_t)(n - image0) * th * tw + ty * tw + tx;
                const float *d = padded + ((size_t)(ty * 4) * pw + tx * 4) * cin;   // the tile's 8×8 pixels
                for (int i = 0; i < 8; i++)
                    for (int b = 0; b < 8; b++)
                        combine(rows + (size_t)(i * 8 + b) * cin, WINO_BT[i], 8, d + (size_t)b * cin, (ptrdiff_t)pw * cin, cin);
                for (int i = 0; i < 8; i++)
                    for (int j = 0; j < 8; j++)
                        combine(V + ((size_t)(i * 8 + j) * tiles + tile) * cin, WINO_BT[j], 8, rows + (size_t)(i * 8) * cin, cin, cin);
            }
    }
}

ALWAYS_INLINE void output_impl(const float *M, int cout, int height, int width, int image0, int image1,
                               ptrdiff_t tiles, ptrdiff_t tile0, float *y, float *scratch) {
    const int th = (height + 3) / 4, tw = (width + 3) / 4;
    float *rows = scratch;                        // [4][8][cout]: Aᵀ·m
    float *tile_out = scratch + 32 * (size_t)cout; // [4][4][cout]
    for (int n = image0; n < image1; n++) {
        float *image = y + (size_t)n * cout * height * width;
        for (int ty = 0; ty < th; ty++)
            for (int tx = 0; tx < tw; tx++) {
                const ptrdiff_t tile = tile0 + (ptrdiff_t)(n - image0) * th * tw + ty * tw + tx;
                for (int r = 0; r < 4; r++)
                    for (int j = 0; j < 8; j++)   // point (i, j) of the tile at M + ((i·8 + j)·tiles + tile)·cout
                        combine(rows + (size_t)(r * 8 + j) * cout, WINO_AT[r], 8, M + ((size_t)j * tiles + tile) * cout,
                                (ptrdiff_t)8 * tiles * cout, cout);
                for (int r = 0; r < 4; r++)
                    for (int s = 0; s < 4; s++)
                        combine(tile_out + (size_t)(r * 4 + s) * cout, WINO_AT[s], 8, rows + (size_t)(r * 8) * cout, cout, cout);
                for (int r = 0; r < 4; r++) {
                    const int yy = ty * 4 + r;
                    if (yy >= height) break;
                    for (int s = 0; s < 4; s++) {
                        const int xx = tx * 4 + s;
                        if (xx >= width) break;
                        const float *o = tile_out + (size_t)(r * 4 + s) * cout;
                        for (int c = 0; c < cout; c++) image[((size_t)c * height + yy) * width + xx] = o[c];
                    }
                }
            }
    }
}

// The weight gradient's half of the output transform, its adjoint: W = A·dY·Aᵀ for every 4×4
// tile of dy (zeros past the image's edge), written to W: [64][tiles][cout] as M is laid out.
ALWAYS_INLINE void output_adjoint_impl(const float *dy, int cout, int height, int width, int image0, int image1,
                                       float *W, ptrdiff_t tiles, ptrdiff_t tile0, float *scratch) {
    const int th = (height + 3) / 4, tw = (width + 3) / 4;
    const int ph = th * 4, pw = tw * 4;
    float *padded = scratch;                         // [ph][pw][cout], zeros past the edge
    float *rows = scratch + (size_t)ph * pw * cout;  // [8][4][cout]: A·dY
    if (ph != height || pw != width) memset(padded, 0, sizeof(float) * (size_t)ph * pw * cout);   // lasts the call
    for (int n = image0; n < image1; n++) {
        const float *image = dy + (size_t)n * cout * height * width;
        for (int c = 0; c < cout; c++)
            for (int y = 0; y < height; y++)
                for (int xx = 0; xx < width; xx++)
                    padded[((size_t)y * pw + xx) * cout + c] = image[((size_t)c * height + y) * width + xx];
        for (int ty = 0; ty < th; ty++)
            for (int tx = 0; tx < tw; tx++) {
                const ptrdiff_t tile = tile0 + (ptrdiff_t)(n - image0) * th * tw + ty * tw + tx;
                const float *d = padded + ((size_t)(ty * 4) * pw + tx * 4) * cout;   // the tile's 4×4 values
                for (int i = 0; i < 8; i++)
                    for (int s = 0; s < 4; s++)
                        combine(rows + (size_t)(i * 4 + s) * cout, WINO_A[i], 4, d + (size_t)s * cout, (ptrdiff_t)pw * cout, cout);
                for (int i = 0; i < 8; i++)
                    for (int j = 0; j < 8; j++)
                        combine(W + ((size_t)(i * 8 + j) * tiles + tile) * cout, WINO_A[j], 4, rows + (size_t)(i * 4) * cout, cout, cout);
            }
    }
}

// The adjoint of the forward filter transform: dK = Gᵀ·dU·G (8×8 → 5×5) for input channels
// ci0..<ci1, added into the layer's kernel gradient dw: [C, O, 5, 5] with the forward's flip,
// dw[c][o][4−a][4−b] += dK(c, o, a, b). dU: [64][C][O].
ALWAYS_INLINE void filter_adjoint_impl(const float *dU, int C, int O, int ci0, int ci1, float *dw) {
    float u[8][8][CO_BLOCK], dk[5][5][CO_BLOCK];
    for (int ci = ci0; ci < ci1; ci++) {
        for (int co0 = 0; co0 < O; co0 += CO_BLOCK) {
            const int width = O - co0 < CO_BLOCK ? O - co0 : CO_BLOCK;
            for (int i = 0; i < 8; i++)
                for (int j = 0; j < 8; j++) {
                    const float *src = dU + ((size_t)(i * 8 + j) * C + ci) * O + co0;
                    for (int v = 0; v < CO_BLOCK; v++) u[i][j][v] = v < width ? src[v] : 0;
                }
            unsandwich(8, 5, &WINO_G[0][0], &u[0][0][0], &dk[0][0][0]);
            for (int a = 0; a < 5; a++)
                for (int b = 0; b < 5; b++) {
                    float *out = dw + ((size_t)ci * O + co0) * 25 + (4 - a) * 5 + (4 - b);
                    for (int v = 0; v < width; v++) out[(size_t)v * 25] += dk[a][b][v];
                }
        }
    }
}

// The five transforms, one build per instruction set (WINO_STAMP_BUILDS).
#define WINO_VARIANTS(SUFFIX, ATTR) \
    ATTR static void filter_##SUFFIX(const float *w, int C, int O, int forward, int ci0, int ci1, float *U) { \
        filter_impl(w, C, O, forward, ci0, ci1, U); \
    } \
    ATTR static void input_##SUFFIX(const float *x, int cin, int height, int width, int image0, int image1, \
                                     float *V, ptrdiff_t tiles, ptrdiff_t tile0, float *scratch) { \
        input_impl(x, cin, height, width, image0, image1, V, tiles, tile0, scratch); \
    } \
    ATTR static void output_##SUFFIX(const float *M, int cout, int height, int width, int image0, int image1, \
                                      ptrdiff_t tiles, ptrdiff_t tile0, float *y, float *scratch) { \
        output_impl(M, cout, height, width, image0, image1, tiles, tile0, y, scratch); \
    } \
    ATTR static void output_adjoint_##SUFFIX(const float *dy, int cout, int height, int width, int image0, \
                                              int image1, float *W, ptrdiff_t tiles, ptrdiff_t tile0, float *scratch) { \
        output_adjoint_impl(dy, cout, height, width, image0, image1, W, tiles, tile0, scratch); \
    } \
    ATTR static void filter_adjoint_##SUFFIX(const float *dU, int C, int O, int ci0, int ci1, float *dw) { \
        filter_adjoint_impl(dU, C, O, ci0, ci1, dw); \
    }

WINO_STAMP_BUILDS(WINO_VARIANTS)

void zoo_wino45_filter(const float *w, int channels, int outChannels, int forward, int ci0, int ci1, float *U) {
    PICK(filter, w, channels, outChannels, forward, ci0, ci1, U);
}

void zoo_wino45_input(const float *x, int cin, int height, int width, int image0, int image1,
                      float *V, ptrdiff_t tiles, ptrdiff_t tile0, float *scratch) {
    PICK(input, x, cin, height, width, image0, image1, V, tiles, tile0, scratch);
}

void zoo_wino45_output(const float *M, int cout, int height, int width, int image0, int image1,
                       ptrdiff_t tiles, ptrdiff_t tile0, float *y, float *scratch) {
    PICK(output, M, cout, height, width, image0, image1, tiles, tile0, y, scratch);
}

void zoo_wino45_output_adjoint(const float *dy, int cout, int height, int width, int image0, int image1,
                               float *W, ptrdiff_t tiles, ptrdiff_t tile0, float *scratch) {
    PICK(output_adjoint, dy, cout, height, width, image0, image1, W, tiles, tile0, scratch);
}

void zoo_wino45_filter_adjoint(const float *dU, int channels, int outChannels, int ci0, int ci1, float *dw) {
    PICK(filter_adjoint, dU, channels, outChannels, ci0, ci1, dw);
}

size_t zoo_wino45_input_scratch(int cin, int height, int width) {
    const size_t ph = (size_t)(height + 3) / 4 * 4 + 4, pw = (size_t)(width + 3) / 4 * 4 + 4;
    return (ph * pw + 64) * (size_t)cin;
}

size_t zoo_wino45_output_scratch(int cout) { return 48 * (size_t)cout; }

size_t zoo_wino45_output_adjoint_scratch(int cout, int height, int width) {
    const size_t ph = (size_t)(height + 3) / 4 * 4, pw = (size_t)(width + 3) / 4 * 4;
    return (ph * pw + 32) * (size_t)cout;
}
