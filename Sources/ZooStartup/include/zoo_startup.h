#ifndef ZOO_STARTUP_H
#define ZOO_STARTUP_H

/// 1 when this process's start set OPENBLAS_NUM_THREADS=1 itself (it was unset).
int zoo_startup_limited_openblas_threads(void);

#endif
