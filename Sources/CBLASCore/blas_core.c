// OpenBLAS (DYNAMIC_ARCH builds, as Debian's) chooses its kernels once, when it loads, from the
// CPU model number; a CPU newer than the library (Emerald Rapids under 0.3.21, say) gets the
// generic Prescott (SSE3) kernels, a quarter of the AVX-512 speed. The choice lives in one
// global pointer, `gotoblas`, and `gotoblas_dynamic_init` makes it again, honouring
// OPENBLAS_CORETYPE. Both are weak references, resolved by the linker: they are found in the
// static archive (whose symbols the executable does not export, so dlsym cannot see them)
// and in the shared library alike, and an OpenBLAS without them still links (they are NULL).
#include "zoo_blas_core.h"

#include <stdlib.h>
#include <string.h>

int zoo_cpu_has_avx512(void) {
    __builtin_cpu_init();
    // What OpenBLAS's SkylakeX kernels are compiled for (-march=skylake-avx512).
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
}

int zoo_cpu_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

extern void *gotoblas __attribute__((weak));
extern void gotoblas_dynamic_init(void) __attribute__((weak));

int zoo_openblas_select_core(const char *coretype) {
    void **table = &gotoblas;
    void (*dynamic_init)(void) = gotoblas_dynamic_init;
    if (table == NULL || dynamic_init == NULL) return -1;

    // gotoblas_dynamic_init reads the variable; the process's own value is put back after.
    const char *previous = getenv("OPENBLAS_CORETYPE");
    char *saved = previous ? strdup(previous) : NULL;
    if (setenv("OPENBLAS_CORETYPE", coretype, 1) != 0) { free(saved); return -1; }
    *table = NULL;  // dynamic_init returns at once while a table is set
    dynamic_init();
    if (saved) { setenv("OPENBLAS_CORETYPE", saved, 1); free(saved); }
    else unsetenv("OPENBLAS_CORETYPE");
    return *table != NULL ? 0 : -1;
}
