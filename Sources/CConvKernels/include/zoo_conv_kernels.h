#ifndef ZOO_CONV_KERNELS_H
#define ZOO_CONV_KERNELS_H
#include <stddef.h>

/// ConvGeometry.col2im for one sample, in C: adds column entry
/// cols[((c·k + i)·k + j)·ld + offset + oh·OW + ow] into
/// image[c][oh·stride − padTop + i][ow·stride − padLeft + j] wherever that pixel exists.
/// `image` holds channels·height·width floats (the caller zeroes it first).
void zoo_col2im(const float *cols, ptrdiff_t ld, ptrdiff_t offset, float *image,
                int channels, int height, int width, int kernel, int stride,
                int outHeight, int outWidth, int padTop, int padLeft);

/// ConvGeometry.im2col for one sample, in C: writes every column entry
/// cols[((c·k + i)·k + j)·ld + offset + oh·OW + ow] = image[c][oh·stride − padTop + i][ow·stride − padLeft + j],
/// 0 where that pixel is outside the image.
void zoo_im2col(const float *image, float *cols, ptrdiff_t ld, ptrdiff_t offset,
                int channels, int height, int width, int kernel, int stride,
                int outHeight, int outWidth, int padTop, int padLeft);

/// 1 when zoo_col2im and zoo_im2col run their AVX-512 paths (a row of up to 16 values a vector).
int zoo_conv_kernels_avx512(void);

/// The vector paths in use: 2 AVX-512 (col2im and im2col), 1 AVX2 (col2im, and im2col of rows
/// up to 8 values), 0 plain loops.
int zoo_conv_kernels_level(void);

/// Caps the level (tests run every path the CPU has); 2 lifts the cap. Not thread-safe:
/// call while no convolution runs.
void zoo_conv_kernels_limit(int level);

/// Winograd F(4×4, 5×5) for a stride-1 5×5 `same` correlation (winograd.c):
/// out[co][y][x] = Σ_{ci,a,b} in[ci][y − 2 + a][x − 2 + b] · K(ci, co, a, b), in 4×4 tiles,
/// (H+3)/4 · (W+3)/4 tiles an image, 64 transform points t.
///
/// Filter transform of input channels ci0..<ci1 into U: [64][cin][cout]. K comes from a
/// Conv2DTranspose kernel w: [C, O, 5, 5]: forward = 1 reads K(c, o, a, b) = w[c][o][4−a][4−b]
/// (cin = C, cout = O: the layer's forward); forward = 0 reads K(o, c, a, b) = w[c][o][a][b]
/// (cin = O, cout = C: its input gradient).
void zoo_wino45_filter(const float *w, int channels, int outChannels, int forward, int ci0, int ci1, float *U);

/// Input transform of images image0..<image1 of x: [N, cin, H, W] into V: [64][tiles][cin],
/// image n's tiles from row tile0 + (n − image0)·tilesPerImage. scratch holds
/// zoo_wino45_input_scratch floats (one per calling thread).
void zoo_wino45_input(const float *x, int cin, int height, int width, int image0, int image1,
                      float *V, ptrdiff_t tiles, ptrdiff_t tile0, float *scratch);

/// Output transform of M: [64][tiles][cout] into images image0..<image1 of y: [N, cout, H, W]
/// (written, not added), rows laid out as in zoo_wino45_input.
void zoo_wino45_output(const float *M, int cout, int height, int width, int image0, int image1,
                       ptrdiff_t tiles, ptrdiff_t tile0, float *y, float *scratch);

/// The weight gradient's adjoint output transform: W = A·dY·Aᵀ (8×8, A = (Aᵀ)ᵀ) for every 4×4
/// tile of images image0..<image1 of dy: [N, cout, H, W] (zeros past the image's edge), into
/// W: [64][tiles][cout], rows laid out as in zoo_wino45_input. Then dU_t = V_tᵀ·W_t (V of the
/// forward's input) is the gradient of the transformed filter U_t. scratch holds
/// zoo_wino45_output_adjoint_scratch floats (one per calling thread).
void zoo_wino45_output_adjoint(const float *dy, int cout, int height, int width, int image0, int image1,
                               float *W, ptrdiff_t tiles, ptrdiff_t tile0, float *scratch);

/// The adjoint of the forward (forward = 1) filter transform: dK = Gᵀ·dU·G for input channels
/// ci0..<ci1 of dU: [64][C][O], ADDED into the kernel gradient dw: [C, O, 5, 5] as
/// dw[c][o][4−a][4−b] += dK(c, o, a, b).
void zoo_wino45_filter_adjoint(const float *dU, int channels, int outChannels, int ci0, int ci1, float *dw);

size_t zoo_wino45_input_scratch(int cin, int height, int width);
size_t zoo_wino45_output_adjoint_scratch(int cout, int height, int width);
size_t zoo_wino45_output_scratch(int cout);

/// Winograd F(4×4, 3×3) for the stride-2 5×5 `same` convolution from a big image [C, H, W]
/// to a small one [O, OH, OW] (winograd_stride2.c): the big image's four phases become 4C
/// channels of a stride-1 3×3 correlation. `adjoint` = 0 is the conv's forward (big → small),
/// 1 its input gradient (small → big; a stride-2 Conv2DTranspose's forward). Transforms go
/// between images and [36][tiles][channels] (zoo_wino_s2_tiles tiles an image), image n's
/// tiles from row tile0 + (n − image0)·tilesPerImage. scratch holds zoo_wino_s2_scratch
/// floats (one per calling thread).
typedef struct {
    int channels, height, width;            // the big image [C, H, W]
    int outChannels, outHeight, outWidth;   // the small image [O, OH, OW]
    int padTop, padLeft;                    // the conv's `same` padding before
} zoo_s2_geometry;

/// Filter transform into U: [36][rows][cols] from the conv kernel k: [O, C, 5, 5]. Forward:
/// rows = 4C phase channels, cols = O, the rows of big-image channels lo..<hi. Adjoint: rows = O,
/// cols = 4C, rows lo..<hi.
void zoo_wino_s2_filter(const float *k, const zoo_s2_geometry *g, int adjoint, int lo, int hi, float *U);

/// Input transform of images image0..<image1 into V: [36][tiles][rows]: of the big image
/// x: [N, C, H, W] (forward), of the small dy: [N, O, OH, OW] (adjoint).
void zoo_wino_s2_input(const float *src, const zoo_s2_geometry *g, int adjoint, int image0, int image1,
                       float *V, ptrdiff_t tiles, ptrdiff_t tile0, float *scratch);

/// Output transform of M: [36][tiles][cols] into images image0..<image1 of y: [N, O, OH, OW]
/// (forward) or dx: [N, C, H, W] (adjoint), every value written.
void zoo_wino_s2_output(const float *M, const zoo_s2_geometry *g, int adjoint, int image0, int image1,
                        ptrdiff_t tiles, ptrdiff_t tile0, float *dst, float *scratch);

/// The weight gradient's adjoint output transform: W = A·dY·Aᵀ per forward tile of
/// dy: [N, O, OH, OW], into W: [36][tiles][O]. Then dU_t = V_tᵀ·W_t (V of the forward's input).
void zoo_wino_s2_output_adjoint(const float *dy, const zoo_s2_geometry *g, int image0, int image1,
                                float *W, ptrdiff_t tiles, ptrdiff_t tile0, float *scratch);

/// dK = Gᵀ·dU·G for the big image's channels c0..<c1 of dU: [36][4C][O], ADDED into the
/// kernel gradient dk: [O, C, 5, 5].
void zoo_wino_s2_filter_adjoint(const float *dU, const zoo_s2_geometry *g, int c0, int c1, float *dk);

/// Tiles per image of the forward (adjoint = 0) or the adjoint.
int zoo_wino_s2_tiles(const zoo_s2_geometry *g, int adjoint);
size_t zoo_wino_s2_scratch(const zoo_s2_geometry *g);

#endif
