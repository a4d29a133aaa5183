#ifndef ZOO_BLAS_CORE_H
#define ZOO_BLAS_CORE_H

// CPU features that decide which OpenBLAS kernel family can run here (cpuid and the OS's
// saved-register state, via the compiler's runtime).
int zoo_cpu_has_avx512(void);
int zoo_cpu_has_avx2_fma(void);

// Re-runs OpenBLAS's kernel selection as if OPENBLAS_CORETYPE=coretype had been set when it
// loaded. Returns 0 on success, -1 when this OpenBLAS cannot switch (not a DYNAMIC_ARCH build:
// no `gotoblas` table pointer). Call before any BLAS work and before other threads use BLAS.
int zoo_openblas_select_core(const char *coretype);

#endif
