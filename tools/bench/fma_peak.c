// The machine's single-precision FMA peak, the anchor the GEMM and step rates are read
// against: 12 independent AVX-512 FMA chains per thread (enough to cover the FMA latency on
// two units), on 1 and 2 threads. The chains start from different values: started equal,
// the compiler merged the twelve into one and the figure was 12× too high (342 GFLOP/s a core
// on a 2-core EPYC whose real peak is 115). Built and run by tools/bench/run when a C compiler is there.
#include <immintrin.h>
#include <stdio.h>
#include <pthread.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static long N=400000000/12;
static void* run(void*arg){ __m512 a0=_mm512_set1_ps(1.0f),a1=_mm512_set1_ps(1.001f),a2=_mm512_set1_ps(1.002f),a3=_mm512_set1_ps(1.003f),a4=_mm512_set1_ps(1.004f),a5=_mm512_set1_ps(1.005f),a6=_mm512_set1_ps(1.006f),a7=_mm512_set1_ps(1.007f),a8=_mm512_set1_ps(1.008f),a9=_mm512_set1_ps(1.009f),a10=_mm512_set1_ps(1.010f),a11=_mm512_set1_ps(1.011f); __m512 b=_mm512_set1_ps(0.999999f), c=_mm512_set1_ps(1e-7f);
 for(long i=0;i<N;i++){ a0=_mm512_fmadd_ps(a0,b,c);a1=_mm512_fmadd_ps(a1,b,c);a2=_mm512_fmadd_ps(a2,b,c);a3=_mm512_fmadd_ps(a3,b,c);a4=_mm512_fmadd_ps(a4,b,c);a5=_mm512_fmadd_ps(a5,b,c);a6=_mm512_fmadd_ps(a6,b,c);a7=_mm512_fmadd_ps(a7,b,c);a8=_mm512_fmadd_ps(a8,b,c);a9=_mm512_fmadd_ps(a9,b,c);a10=_mm512_fmadd_ps(a10,b,c);a11=_mm512_fmadd_ps(a11,b,c);}
 __m512 s=_mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0,a1),_mm512_add_ps(a2,a3)),_mm512_add_ps(_mm512_add_ps(a4,a5),_mm512_add_ps(a6,_mm512_add_ps(a7,_mm512_add_ps(a8,_mm512_add_ps(a9,_mm512_add_ps(a10,a11)))))));
 float o[16]; _mm512_storeu_ps(o,s); *(float*)arg=o[0]; return 0;}
int main(){ for(int t=1;t<=2;t++){ pthread_t th[2]; float r[2]; double t0=now(); for(int i=0;i<t;i++) pthread_create(&th[i],0,run,&r[i]); for(int i=0;i<t;i++) pthread_join(th[i],0); double dt=now()-t0;
 printf("%d thread(s): %.1f GFLOP/s\n", t, t*(double)N*12*16*2/dt/1e9);} }
