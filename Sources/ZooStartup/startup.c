// Runs before any shared library's initializer (an executable's .preinit_array comes first),
// so OpenBLAS's constructor, which reads OPENBLAS_NUM_THREADS and starts that many worker
// threads, sees 1. The engine splits GEMMs over its own threads and calls OpenBLAS one
// thread at a time, so those workers would only spin: starting them cost ~9 ms of a cold
// `zoo generate`. A value the user set is kept (ZOO_GEMM_THREADS=openblas raises the count
// at run time through openblas_set_num_threads).
#include <stdlib.h>
#include "zoo_startup.h"

static int limited = 0;

static void zoo_preinit(int argc, char **argv, char **envp) {
    (void)argc; (void)argv; (void)envp;
    if (getenv("OPENBLAS_NUM_THREADS") == NULL) {
        limited = setenv("OPENBLAS_NUM_THREADS", "1", 0) == 0;
    }
}

__attribute__((section(".preinit_array"), used))
static void (*const zoo_preinit_entry)(int, char **, char **) = zoo_preinit;

int zoo_startup_limited_openblas_threads(void) { return limited; }
