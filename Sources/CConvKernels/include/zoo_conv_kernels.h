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

/// 1 when zoo_col2im runs its AVX-512 path (image rows built in registers, 16 pixels a vector).
int zoo_conv_kernels_avx512(void);

#endif
