// OpenBLAS's cblas.h also declares openblas_set_num_threads / openblas_get_corename.
#include <cblas.h>
// OpenBLAS ships LAPACK; only the symmetric eigen-solver is needed (Fréchet distance),
// declared here so no LAPACKE package is required.
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
            double *w, double *work, const int *lwork, int *info);
// OpenBLAS starts its worker threads when it loads (OPENBLAS_NUM_THREADS, else one per
// core); this stops them and joins them. Exported by OpenBLAS's pthread builds, not declared
// in cblas.h.
void blas_thread_shutdown_(void);
