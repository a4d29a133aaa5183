// Winograd F(4×4, 3×3) for the stride-2 5×5 `same` convolution from a big image [C, H, W] to
// a small one [O, OH, OW] (Conv2D's forward; a stride-2 Conv2DTranspose is its adjoint).
//
// A stride-2 5×5 correlation is a stride-1 3×3 one over the big image's four phases. With
// ky = 2a + py and kx = 2b + px:
//   y[o][j][i] = Σ_{q,a,b} P[q][j + a][i + b] · K'(q, o, a, b), where
//   P[q][j][i] = x[c][2j + py − padTop][2i + px − padLeft] (0 outside the image),
//   K'(q, o, a, b) = k[o][c][2a + py][2b + px] (0 for a tap 5), q = (py·2 + px)·C + c.
// So the phases are 4C channels of a 3×3 correlation, and each 4×4 tile of the output is
// Aᵀ[(G K' Gᵀ) ⊙ (Bᵀ d B)]A of a 6×6 tile d of the phase grid: 36 GEMMs (one per point t),
// M_t[tiles, o] = V_t[tiles, q] · U_t[q, o]. For a 7×7 output (2×2 tiles) that is
// 36·4·4 = 576 multiplies per image and (c, o) pair, against 25·49 = 1225 on the column path.
//
// The adjoint (the input gradient, or a Conv2DTranspose's forward) is the full 3×3
// correlation of dy with the flipped K', onto the phase grid, scattered back to the big
// image's pixels: each pixel is one cell (j, i) of one phase, so it is written, not summed.
// The weight gradient is dU_t = V_tᵀ·W_t with W = A·dY·Aᵀ per output tile, then dK' = Gᵀ·dU·G.
// Points 0, ±1, ±2, ∞ (Lavin & Gray 2016); the tests hold every path to direct loops.
#include "winograd_common.h"

static const float W3_BT[6][6] = {{4, 0, -5, 0, 1, 0},
 {0, -4, -4, 1, 1, 0},
 {0, 4, -4, -1, 1, 0},
 {0, -2, -1, 2, 1, 0},
 {0, 2, -1, -2, 1, 0},
 {0, 4, 0, -5, 0, 1}};
static const float W3_G[6][3] = {{1.0 / 4, 0, 0},
 {-1.0 / 6, -1.0 / 6, -1.0 / 6},
 {-1.0 / 6, 1.0 / 6, -1.0 / 6},
 {1.0 / 24, 1.0 / 12, 1.0 / 6},
 {1.0 / 24, -1.0 / 12, 1.0 / 6},
 {0, 0, 1}};
static const float W3_AT[4][6] = {{1, 1, 1, 1, 1, 0},
 {0, 1, -1, 2, -2, 0},
 {0, 1, 1, 4, 4, 0},
 {0, 1, -1, 8, -8, 1}};
// A = (Aᵀ)ᵀ: the weight gradient's adjoint output transform, 4×4 tile of dy → A·dY·Aᵀ (6×6).
static const float W3_A[6][4] = {{1, 0, 0, 0},
 {1, 1, 1, 1},
 {1, -1, 1, -1},
 {1, 2, 4, 8},
 {1, -2, 4, -8},
 {0, 0, 0, 1}};

// The grid one image's 3×3 correlation runs over: th × tw output tiles of 4×4 cells, read
// from (4·th + 2) × (4·tw + 2) input cells of `channels` values, channels innermost.
typedef struct { int th, tw, gh, gw, channels; } grid_shape;

// Forward: the output cells are the small image's pixels; its input, the phase grid (4C).
// Adjoint: the output cells are the phase cells that hold a big-image pixel,
// j ≤ (H − 1 + padTop)/2; its input, dy (O channels) shifted by 2 (the full correlation's border).
ALWAYS_INLINE grid_shape shape_of(const zoo_s2_geometry *g, int adjoint) {
    const int oh = adjoint ? (g->height - 1 + g->padTop) / 2 + 1 : g->outHeight;
    const int ow = adjoint ? (g->width - 1 + g->padLeft) / 2 + 1 : g->outWidth;
    grid_shape s;
    s.th = (oh + 3) / 4;
    s.tw = (ow + 3) / 4;
    s.gh = s.th * 4 + 2;
    s.gw = s.tw * 4 + 2;
    s.channels = adjoint ? g->outChannels : 4 * g->channels;
    return s;
}

// U: [36][rows][cols]. Forward: rows = 4C phase channels, cols = O, U = G·K'·Gᵀ, for the big
// image's channels c0..<c1 (their four phase rows each). Adjoint: rows = O, cols = 4C, the taps
// flipped, U = G·K'(q, o)[2 − a][2 − b]·Gᵀ, for rows o = c0..<c1. Either way 16 lanes of the
// contiguous index (o forward, c adjoint) load their 25 taps once, for all four phases.
ALWAYS_INLINE void filter_impl(const float *k, const zoo_s2_geometry *g, int adjoint, int lo, int hi, float *U) {
    const int C = g->channels, O = g->outChannels, phases = 4 * C;
    const int rows = adjoint ? O : phases, cols = adjoint ? phases : O;
    const int lanes = adjoint ? C : O;      // the index the 16 lanes run over
    float taps[25][CO_BLOCK], kk[3][3][CO_BLOCK], uu[6][6][CO_BLOCK];
    for (int fixed = lo; fixed < hi; fixed++) {
        for (int l0 = 0; l0 < lanes; l0 += CO_BLOCK) {
            const int width = lanes - l0 < CO_BLOCK ? lanes - l0 : CO_BLOCK;
            for (int v = 0; v < CO_BLOCK; v++) {
                const int l = l0 + (v < width ? v : 0);
                // forward: fixed = c, lanes o; adjoint: fixed = o, lanes c.
                const float *kernel = adjoint ? k + ((size_t)fixed * C + l) * 25 : k + ((size_t)l * C + fixed) * 25;
                for (int t = 0; t < 25; t++) taps[t][v] = kernel[t];
            }
            for (int phase = 0; phase < 4; phase++) {
                const int py = phase / 2, px = phase % 2;
                for (int a = 0; a < 3; a++)
                    for (int b = 0; b < 3; b++) {
                        // forward K'(a, b) = k[2a + py][2b + px]; adjoint reads it at (2 − a, 2 − b).
                        const int ky = 2 * (adjoint ? 2 - a : a) + py, kx = 2 * (adjoint ? 2 - b : b) + px;
                        for (int v = 0; v < CO_BLOCK; v++) kk[a][b][v] = ky < 5 && kx < 5 ? taps[ky * 5 + kx][v] : 0;
                    }
                sandwich(6, 3, &W3_G[0][0], &kk[0][0][0], &uu[0][0][0]);
                // forward: row q = phase·C + c, columns o = l0…; adjoint: row o, columns phase·C + l0…
                const size_t row = adjoint ? (size_t)fixed : (size_t)phase * C + fixed;
                const size_t col = adjoint ? (size_t)phase * C + l0 : (size_t)l0;
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++) {
                        float *to = U + ((size_t)(i * 6 + j) * rows + row) * cols + col;
                        for (int v = 0; v < width; v++) to[v] = uu[i][j][v];
                    }
            }
        }
    }
}

// Fills each image's grid and transforms its tiles into V: [36][tiles][channels].
// Forward: src is the big image x: [N, C, H, W], cell (j, i) of channel (py·2 + px)·C + c
// holding x[c][2j + py − padTop][2i + px − padLeft]. Adjoint: src is dy: [N, O, OH, OW],
// cell (j, i) of channel o holding dy[o][j − 2][i − 2].
ALWAYS_INLINE void input_impl(const float *src, const zoo_s2_geometry *g, int adjoint, int image0, int image1,
                              float *V, ptrdiff_t tiles, ptrdiff_t tile0, float *scratch) {
    const grid_shape s = shape_of(g, adjoint);
    const int q = s.channels;
    float *grid = scratch;                               // [gh][gw][q]
    float *rows = scratch + (size_t)s.gh * s.gw * q;     // [6][6][q]: Bᵀ·d
    // Every image writes the same cells, so the zeros set here last the whole call.
    memset(grid, 0, sizeof(float) * (size_t)s.gh * s.gw * q);
    for (int n = image0; n < image1; n++) {
        if (adjoint) {
            const int O = g->outChannels, oh = g->outHeight, ow = g->outWidth;
            const float *image = src + (size_t)n * O * oh * ow;
            for (int o = 0; o < O; o++)
                for (int y = 0; y < oh; y++)
                    for (int x = 0; x < ow; x++)
                        grid[((size_t)(y + 2) * s.gw + x + 2) * q + o] = image[((size_t)o * oh + y) * ow + x];
        } else {
            const int C = g->channels, H = g->height, W = g->width;
            const float *image = src + (size_t)n * C * H * W;
            for (int c = 0; c < C; c++)
                for (int y = 0; y < H; y++) {
                    const int j = (y + g->padTop) / 2, py = (y + g->padTop) % 2;
                    for (int x = 0; x < W; x++) {
                        const int i = (x + g->padLeft) / 2, px = (x + g->padLeft) % 2;
                        grid[((size_t)j * s.gw + i) * q + (py * 2 + px) * C + c] = image[((size_t)c * H + y) * W + x];
                    }
                }
        }
        for (int ty = 0; ty < s.th; ty++)
            for (int tx = 0; tx < s.tw; tx++) {
                const ptrdiff_t tile = tile0 + (ptrdiff_t)(n - image0) * s.th * s.tw + ty * s.tw + tx;
                const float *d = grid + ((size_t)(ty * 4) * s.gw + tx * 4) * q;   // the tile's 6×6 cells
                for (int i = 0; i < 6; i++)
                    for (int b = 0; b < 6; b++)
                        combine(rows + (size_t)(i * 6 + b) * q, W3_BT[i], 6, d + (size_t)b * q, (ptrdiff_t)s.gw * q, q);
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++)
                        combine(V + ((size_t)(i * 6 + j) * tiles + tile) * q, W3_BT[j], 6, rows + (size_t)(i * 6) * q, q, q);
            }
    }
}

// Output transform of M: [36][tiles][cols] into images image0..<image1 (written, not added).
// Forward: dst is y: [N, O, OH, OW]. Adjoint: dst is dx: [N, C, H, W], cell (j, i) of phase
// channel (py·2 + px)·C + c going to dx[c][2j + py − padTop][2i + px − padLeft] where it exists.
ALWAYS_INLINE void output_impl(const float *M, const zoo_s2_geometry *g, int adjoint, int image0, int image1,
                               ptrdiff_t tiles, ptrdiff_t tile0, float *dst, float *scratch) {
    const grid_shape s = shape_of(g, adjoint);
    const int cols = adjoint ? 4 * g->channels : g->outChannels;
    float *rows = scratch;                          // [4][6][cols]: Aᵀ·m
    float *out = scratch + 24 * (size_t)cols;       // [4][4][cols]
    for (int n = image0; n < image1; n++) {
        for (int ty = 0; ty < s.th; ty++)
            for (int tx = 0; tx < s.tw; tx++) {
                const ptrdiff_t tile = tile0 + (ptrdiff_t)(n - image0) * s.th * s.tw + ty * s.tw + tx;
                for (int r = 0; r < 4; r++)
                    for (int j = 0; j < 6; j++)   // point (i, j) of the tile at M + ((i·6 + j)·tiles + tile)·cols
                        combine(rows + (size_t)(r * 6 + j) * cols, W3_AT[r], 6, M + ((size_t)j * tiles + tile) * cols,
                                (ptrdiff_t)6 * tiles * cols, cols);
                for (int r = 0; r < 4; r++)
                    for (int c = 0; c < 4; c++)
                        combine(out + (size_t)(r * 4 + c) * cols, W3_AT[c], 6, rows + (size_t)(r * 6) * cols, cols, cols);
                if (adjoint) {
                    const int C = g->channels, H = g->height, W = g->width;
                    float *image = dst + (size_t)n * C * H * W;
                    for (int r = 0; r < 4; r++)
                        for (int c = 0; c < 4; c++)
                            for (int phase = 0; phase < 4; phase++) {
                                const int y = 2 * (ty * 4 + r) + phase / 2 - g->padTop;
                                const int x = 2 * (tx * 4 + c) + phase % 2 - g->padLeft;
                                if (y < 0 || y >= H || x < 0 || x >= W) continue;
                                const float *o = out + (size_t)(r * 4 + c) * cols + (size_t)phase * C;
                                for (int ch = 0; ch < C; ch++) image[((size_t)ch * H + y) * W + x] = o[ch];
                            }
                } else {
                    const int O = g->outChannels, oh = g->outHeight, ow = g->outWidth;
                    float *image = dst + (size_t)n * O * oh * ow;
                    for (int r = 0; r < 4; r++) {
                        const int y = ty * 4 + r;
                        if (y >= oh) break;
                        for (int c = 0; c < 4; c++) {
                            const int x = tx * 4 + c;
                            if (x >= ow) break;
                            const float *o = out + (size_t)(r * 4 + c) * cols;
                            for (int ch = 0; ch < O; ch++) image[((size_t)ch * oh + y) * ow + x] = o[ch];
                        }
                    }
                }
            }
    }
}

// The weight gradient's adjoint output transform: W = A·dY·Aᵀ for every forward 4×4 tile of
// dy: [N, O, OH, OW] (zeros past the edge), into W: [36][tiles][O].
ALWAYS_INLINE void output_adjoint_impl(const float *dy, const zoo_s2_geometry *g, int image0, int image1,
                                       float *W, ptrdiff_t tiles, ptrdiff_t tile0, float *scratch) {
    const grid_shape s = shape_of(g, 0);
    const int O = g->outChannels, oh = g->outHeight, ow = g->outWidth;
    const int ph = s.th * 4, pw = s.tw * 4;
    float *padded = scratch;                         // [ph][pw][O]
    float *rows = scratch + (size_t)ph * pw * O;     // [6][4][O]: A·dY
    if (ph != oh || pw != ow) memset(padded, 0, sizeof(float) * (size_t)ph * pw * O);   // lasts the call
    for (int n = image0; n < image1; n++) {
        const float *image = dy + (size_t)n * O * oh * ow;
        for (int o = 0; o < O; o++)
            for (int y = 0; y < oh; y++)
                for (int x = 0; x < ow; x++)
                    padded[((size_t)y * pw + x) * O + o] = image[((size_t)o * oh + y) * ow + x];
        for (int ty = 0; ty < s.th; ty++)
            for (int tx = 0; tx < s.tw; tx++) {
                const ptrdiff_t tile = tile0 + (ptrdiff_t)(n - image0) * s.th * s.tw + ty * s.tw + tx;
                const float *d = padded + ((size_t)(ty * 4) * pw + tx * 4) * O;   // the tile's 4×4 values
                for (int i = 0; i < 6; i++)
                    for (int c = 0; c < 4; c++)
                        combine(rows + (size_t)(i * 4 + c) * O, W3_A[i], 4, d + (size_t)c * O, (ptrdiff_t)pw * O, O);
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++)
                        combine(W + ((size_t)(i * 6 + j) * tiles + tile) * O, W3_A[j], 4, rows + (size_t)(i * 4) * O, O, O);
            }
    }
}

// dK' = Gᵀ·dU·G (6×6 → 3×3) for the big image's channels c0..<c1 (all four phases of each),
// added into the kernel gradient dk: [O, C, 5, 5] at taps (2a + py, 2b + px) inside the 5×5.
// dU: [36][4C][O].
ALWAYS_INLINE void filter_adjoint_impl(const float *dU, const zoo_s2_geometry *g, int c0, int c1, float *dk) {
    const int C = g->channels, O = g->outChannels, phases = 4 * C;
    float u[6][6][CO_BLOCK], dk3[3][3][CO_BLOCK];
    for (int c = c0; c < c1; c++)
        for (int phase = 0; phase < 4; phase++) {
            const int q = phase * C + c, py = phase / 2, px = phase % 2;
            for (int o0 = 0; o0 < O; o0 += CO_BLOCK) {
                const int width = O - o0 < CO_BLOCK ? O - o0 : CO_BLOCK;
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++) {
                        const float *from = dU + ((size_t)(i * 6 + j) * phases + q) * O + o0;
                        for (int v = 0; v < CO_BLOCK; v++) u[i][j][v] = v < width ? from[v] : 0;
                    }
                unsandwich(6, 3, &W3_G[0][0], &u[0][0][0], &dk3[0][0][0]);
                for (int a = 0; a < 3; a++)
                    for (int b = 0; b < 3; b++) {
                        const int ky = 2 * a + py, kx = 2 * b + px;
                        if (ky >= 5 || kx >= 5) continue;
                        float *to = dk + ((size_t)o0 * C + c) * 25 + ky * 5 + kx;
                        for (int v = 0; v < width; v++) to[(size_t)v * C * 25] += dk3[a][b][v];
                    }
            }
        }
}

#define S2_VARIANTS(SUFFIX, ATTR) \
    ATTR static void filter_##SUFFIX(const float *k, const zoo_s2_geometry *g, int adjoint, int lo, int hi, float *U) { \
        filter_impl(k, g, adjoint, lo, hi, U); \
    } \
    ATTR static void input_##SUFFIX(const float *src, const zoo_s2_geometry *g, int adjoint, int image0, int image1, \
                                     float *V, ptrdiff_t tiles, ptrdiff_t tile0, float *scratch) { \
        input_impl(src, g, adjoint, image0, image1, V, tiles, tile0, scratch); \
    } \
    ATTR static void output_##SUFFIX(const float *M, const zoo_s2_geometry *g, int adjoint, int image0, int image1, \
                                      ptrdiff_t tiles, ptrdiff_t tile0, float *dst, float *scratch) { \
        output_impl(M, g, adjoint, image0, image1, tiles, tile0, dst, scratch); \
    } \
    ATTR static void output_adjoint_##SUFFIX(const float *dy, const zoo_s2_geometry *g, int image0, int image1, \
                                              float *W, ptrdiff_t tiles, ptrdiff_t tile0, float *scratch) { \
        output_adjoint_impl(dy, g, image0, image1, W, tiles, tile0, scratch); \
    } \
    ATTR static void filter_adjoint_##SUFFIX(const float *dU, const zoo_s2_geometry *g, int c0, int c1, float *dk) { \
        filter_adjoint_impl(dU, g, c0, c1, dk); \
    }

WINO_STAMP_BUILDS(S2_VARIANTS)

void zoo_wino_s2_filter(const float *k, const zoo_s2_geometry *g, int adjoint, int lo, int hi, float *U) {
    PICK(filter, k, g, adjoint, lo, hi, U);
}

void zoo_wino_s2_input(const float *src, const zoo_s2_geometry *g, int adjoint, int image0, int image1,
                       float *V, ptrdiff_t tiles, ptrdiff_t tile0, float *scratch) {
    PICK(input, src, g, adjoint, image0, image1, V, tiles, tile0, scratch);
}

void zoo_wino_s2_output(const float *M, const zoo_s2_geometry *g, int adjoint, int image0, int image1,
                        ptrdiff_t tiles, ptrdiff_t tile0, float *dst, float *scratch) {
    PICK(output, M, g, adjoint, image0, image1, tiles, tile0, dst, scratch);
}

void zoo_wino_s2_output_adjoint(const float *dy, const zoo_s2_geometry *g, int image0, int image1,
                                float *W, ptrdiff_t tiles, ptrdiff_t tile0, float *scratch) {
    PICK(output_adjoint, dy, g, image0, image1, W, tiles, tile0, scratch);
}

void zoo_wino_s2_filter_adjoint(const float *dU, const zoo_s2_geometry *g, int c0, int c1, float *dk) {
    PICK(filter_adjoint, dU, g, c0, c1, dk);
}

int zoo_wino_s2_tiles(const zoo_s2_geometry *g, int adjoint) {
    const grid_shape s = shape_of(g, adjoint);
    return s.th * s.tw;
}

size_t zoo_wino_s2_scratch(const zoo_s2_geometry *g) {
    size_t most = 0;
    for (int adjoint = 0; adjoint < 2; adjoint++) {
        const grid_shape s = shape_of(g, adjoint);
        const size_t input = ((size_t)s.gh * s.gw + 36) * (size_t)s.channels;
        const size_t output = 40 * (size_t)(adjoint ? 4 * g->channels : g->outChannels);
        if (input > most) most = input;
        if (output > most) most = output;
    }
    const grid_shape f = shape_of(g, 0);
    const size_t adjointOutput = ((size_t)f.th * 4 * f.tw * 4 + 24) * (size_t)g->outChannels;
    return adjointOutput > most ? adjointOutput : most;
}
