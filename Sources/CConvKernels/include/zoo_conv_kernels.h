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

/// The vector paths in use: 2 AVX-512 (col2im and im2col), 1 AVX2 (col2im), 0 plain loops.
int zoo_conv_kernels_level(void);

/// Caps the level (tests run every path the CPU has); 2 lifts the cap. Not thread-safe:
/// call while no convolution runs.
void zoo_conv_kernels_limit(int level);

#endif
