// SHA-256 block compression with the x86 SHA extensions (SHA-NI): ~10× the portable
// Swift loop, which matters because every weight load hashes every raw byte.
// The round structure follows Intel's reference (Gulley et al., "Intel SHA Extensions",
// 2013): state kept as ABEF/CDGH, four rounds per group, message schedule with
// sha256msg1/msg2 overlapping the rounds. The Swift implementation stays the reference
// (and the fallback); a test checks both agree on many lengths.
#include "zoo_sha256.h"

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

uint32_t zoo_sha256_round_constant(int index) { return K[index & 63]; }

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

int zoo_sha256_hardware(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1") && __builtin_cpu_supports("ssse3");
}

__attribute__((target("sha,sse4.1,ssse3")))
void zoo_sha256_blocks(uint32_t state[8], const uint8_t *data, size_t blocks) {
    // Message words are big-endian; this shuffle swaps each 32-bit lane's bytes.
    const __m128i byteswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp = _mm_loadu_si128((const __m128i *)&state[0]);     // DCBA
    __m128i state1 = _mm_loadu_si128((const __m128i *)&state[4]);  // HGFE
    tmp = _mm_shuffle_epi32(tmp, 0xB1);                            // CDAB
    state1 = _mm_shuffle_epi32(state1, 0x1B);                      // EFGH
    __m128i state0 = _mm_alignr_epi8(tmp, state1, 8);              // ABEF
    state1 = _mm_blend_epi16(state1, tmp, 0xF0);                   // CDGH

    while (blocks--) {
        const __m128i abefSave = state0, cdghSave = state1;
        __m128i m[4];
        #pragma clang loop unroll(full)
        for (int g = 0; g < 16; g++) {
            __m128i *cur = &m[g & 3], *prev = &m[(g + 3) & 3], *next = &m[(g + 1) & 3];
            if (g < 4) *cur = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16 * g)), byteswap);
            __m128i msg = _mm_add_epi32(*cur, _mm_loadu_si128((const __m128i *)&K[4 * g]));
            state1 = _mm_sha256rnds2_epu32(state1, state0, msg);
            if (g >= 3 && g <= 14) {
                // W[4(g+1)..] = σ1 terms from this group + the W[t-7] words (alignr) + msg1's σ0 part.
                __m128i t7 = _mm_alignr_epi8(*cur, *prev, 4);
                *next = _mm_sha256msg2_epu32(_mm_add_epi32(*next, t7), *cur);
            }
            msg = _mm_shuffle_epi32(msg, 0x0E);
            state0 = _mm_sha256rnds2_epu32(state0, state1, msg);
            if (g >= 1 && g <= 12) *prev = _mm_sha256msg1_epu32(*prev, *cur);
        }
        state0 = _mm_add_epi32(state0, abefSave);
        state1 = _mm_add_epi32(state1, cdghSave);
        data += 64;
    }

    tmp = _mm_shuffle_epi32(state0, 0x1B);          // FEBA
    state1 = _mm_shuffle_epi32(state1, 0xB1);       // DCHG
    state0 = _mm_blend_epi16(tmp, state1, 0xF0);    // DCBA
    state1 = _mm_alignr_epi8(state1, tmp, 8);       // ABEF → HGFE
    _mm_storeu_si128((__m128i *)&state[0], state0);
    _mm_storeu_si128((__m128i *)&state[4], state1);
}

#else
int zoo_sha256_hardware(void) { return 0; }
void zoo_sha256_blocks(uint32_t state[8], const uint8_t *data, size_t blocks) { (void)state; (void)data; (void)blocks; }
#endif
