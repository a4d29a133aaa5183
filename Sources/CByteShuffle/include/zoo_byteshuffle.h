#ifndef ZOO_BYTESHUFFLE_H
#define ZOO_BYTESHUFFLE_H
#include <stddef.h>
#include <stdint.h>

/// raw[2i] = p0[i], raw[2i+1] = p1[i] for i < n: two byte planes back into 16-bit values.
void zoo_interleave2(const uint8_t *p0, const uint8_t *p1, size_t n, uint8_t *raw);

/// raw[4i+k] = pk[i] for i < n: four byte planes back into 32-bit values.
void zoo_interleave4(const uint8_t *p0, const uint8_t *p1, const uint8_t *p2, const uint8_t *p3,
                     size_t n, uint8_t *raw);

/// 1 when this CPU converts binary16 in hardware (F16C) and zoo_half_to_float_f16c can run.
int zoo_half_hardware(void);

/// out[i] = the float value of the little-endian binary16 at raw[2i], 2i+1, for i < n.
/// Exact for every value; a signalling NaN comes back quiet (the hardware's rule).
void zoo_half_to_float_f16c(const uint8_t *raw, size_t n, float *out);

#endif
