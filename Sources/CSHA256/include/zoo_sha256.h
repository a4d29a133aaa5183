#ifndef ZOO_SHA256_H
#define ZOO_SHA256_H
#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU has the SHA extensions (SHA-NI) and zoo_sha256_blocks can run.
int zoo_sha256_hardware(void);

/// The 64 round constants K of FIPS 180-4 (the portable Swift code uses them too).
uint32_t zoo_sha256_round_constant(int index);

/// Runs the SHA-256 compression function over `blocks` consecutive 64-byte blocks
/// at `data`, updating `state` (a, b, …, h). Only call when zoo_sha256_hardware().
void zoo_sha256_blocks(uint32_t state[8], const uint8_t *data, size_t blocks);

#endif
