// The hot loops of a weight load, after inflate: the codec stores each tensor as byte planes
// (all first bytes, then all second bytes, ...), and a float16 tensor then widens to float32.
// In Swift these ran a byte at a time (7–10 ms for the 1.25 M-value dense kernel of the
// shipped DCGAN, a third of a cold `zoo generate`); SSE2 unpacks do 16 values per step and
// F16C converts 8. The Swift loops stay as the reference and fallback (tests compare them).
#include "zoo_byteshuffle.h"

#if defined(__x86_64__)
#include <immintrin.h>

void zoo_interleave2(const uint8_t *p0, const uint8_t *p1, size_t n, uint8_t *raw) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(p0 + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(p1 + i));
        _mm_storeu_si128((__m128i *)(raw + 2 * i), _mm_unpacklo_epi8(a, b));
        _mm_storeu_si128((__m128i *)(raw + 2 * i + 16), _mm_unpackhi_epi8(a, b));
    }
    for (; i < n; i++) { raw[2 * i] = p0[i]; raw[2 * i + 1] = p1[i]; }
}

void zoo_interleave4(const uint8_t *p0, const uint8_t *p1, const uint8_t *p2, const uint8_t *p3,
                     size_t n, uint8_t *raw) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(p0 + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(p1 + i));
        __m128i c = _mm_loadu_si128((const __m128i *)(p2 + i));
        __m128i d = _mm_loadu_si128((const __m128i *)(p3 + i));
        __m128i ab_lo = _mm_unpacklo_epi8(a, b), ab_hi = _mm_unpackhi_epi8(a, b);   // a0b0 a1b1 …
        __m128i cd_lo = _mm_unpacklo_epi8(c, d), cd_hi = _mm_unpackhi_epi8(c, d);
        uint8_t *o = raw + 4 * i;
        _mm_storeu_si128((__m128i *)(o), _mm_unpacklo_epi16(ab_lo, cd_lo));          // values 0–3
        _mm_storeu_si128((__m128i *)(o + 16), _mm_unpackhi_epi16(ab_lo, cd_lo));     // 4–7
        _mm_storeu_si128((__m128i *)(o + 32), _mm_unpacklo_epi16(ab_hi, cd_hi));     // 8–11
        _mm_storeu_si128((__m128i *)(o + 48), _mm_unpackhi_epi16(ab_hi, cd_hi));     // 12–15
    }
    for (; i < n; i++) { raw[4 * i] = p0[i]; raw[4 * i + 1] = p1[i]; raw[4 * i + 2] = p2[i]; raw[4 * i + 3] = p3[i]; }
}

int zoo_half_hardware(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
}

__attribute__((target("f16c,avx")))
void zoo_half_to_float_f16c(const uint8_t *raw, size_t n, float *out) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(raw + 2 * i))));
    }
    for (; i < n; i++) out[i] = _cvtsh_ss((unsigned short)(raw[2 * i] | raw[2 * i + 1] << 8));
}

#else
// Other CPUs: plain loops (the compiler may vectorise them); no hardware half conversion.
void zoo_interleave2(const uint8_t *p0, const uint8_t *p1, size_t n, uint8_t *raw) {
    for (size_t i = 0; i < n; i++) { raw[2 * i] = p0[i]; raw[2 * i + 1] = p1[i]; }
}

void zoo_interleave4(const uint8_t *p0, const uint8_t *p1, const uint8_t *p2, const uint8_t *p3,
                     size_t n, uint8_t *raw) {
    for (size_t i = 0; i < n; i++) { raw[4 * i] = p0[i]; raw[4 * i + 1] = p1[i]; raw[4 * i + 2] = p2[i]; raw[4 * i + 3] = p3[i]; }
}

int zoo_half_hardware(void) { return 0; }

void zoo_half_to_float_f16c(const uint8_t *raw, size_t n, float *out) { (void)raw; (void)n; (void)out; }
#endif
