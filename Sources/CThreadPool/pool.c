// The engine's worker threads. A training step hands out dozens of GEMMs and elementwise
// loops of 10–500 µs each; waking a sleeping libdispatch worker for each took tens of µs
// in a VM, so two threads were barely faster than one on a conditional-GAN step. Workers
// here spin a short while (100 µs) for the next run, then sleep on a futex: back-to-
// back work starts at once, and an idle or oversubscribed machine loses at most the spin.
// (OpenBLAS's own workers spin ~0.1 s, which made a step 30–40× slower when two trainings
// shared two cores.)
#define _GNU_SOURCE
#include "zoo_pool.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define PAUSE() _mm_pause()
#else
#define PAUSE() ((void)0)
#endif

enum { MAX_WORKERS = 63 };

struct job {
    zoo_pool_fn fn;
    void *context;
    long parts;
    atomic_long next;   // the next unclaimed part
    atomic_long done;   // parts finished
};

static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER;  // one run at a time
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(struct job *) current;
static atomic_int users;            // workers that may be reading `current`
static atomic_uint generation;      // bumped for every run; workers futex-wait on it
static atomic_int sleepers;
static const long spin_ns = 100000;   // how long an idle worker spins before it sleeps
static int wanted_workers = 1, started_workers = 0;
static _Thread_local int inside_part;

int zoo_pool_inside_part(void) { return inside_part; }

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void take_parts(struct job *j) {
    long part;
    inside_part = 1;
    while ((part = atomic_fetch_add(&j->next, 1)) < j->parts) {
        j->fn(j->context, part);
        atomic_fetch_add(&j->done, 1);
    }
    inside_part = 0;
}

// `start` is the generation when the thread was created, before the run that started it
// bumps it: read here instead, a worker scheduled after that bump took it for an old run
// and sat out its first one (a cold load's decode then ran on one core).
static void *worker(void *start) {
    pthread_setname_np(pthread_self(), "zoo-worker");  // tells them apart in top -H
    unsigned seen = (unsigned)(uintptr_t)start;
    for (;;) {
        long deadline = now_ns() + spin_ns;
        int spins = 0;
        while (atomic_load(&generation) == seen) {
            PAUSE();
            if (++spins % 256 == 0 && now_ns() > deadline) {
                atomic_fetch_add(&sleepers, 1);
                if (atomic_load(&generation) == seen)
                    syscall(SYS_futex, (unsigned *)&generation, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
                atomic_fetch_sub(&sleepers, 1);
                deadline = now_ns() + spin_ns;
            }
        }
        seen = atomic_load(&generation);
        // `users` first, then `current`: the caller clears `current` and then waits for
        // users == 0, so a job seen here stays alive until this worker lets go of it.
        atomic_fetch_add(&users, 1);
        struct job *j = atomic_load(&current);
        if (j) take_parts(j);
        atomic_fetch_sub(&users, 1);
    }
    return NULL;
}

static void start_workers(void) {
    pthread_mutex_lock(&start_lock);
    while (started_workers < wanted_workers - 1 && started_workers < MAX_WORKERS) {
        pthread_t thread;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        void *start = (void *)(uintptr_t)atomic_load(&generation);
        int rc = pthread_create(&thread, &attr, worker, start);
        pthread_attr_destroy(&attr);
        if (rc != 0) break;  // fewer workers: the caller takes their parts
        started_workers++;
    }
    pthread_mutex_unlock(&start_lock);
}

void zoo_pool_set_threads(int threads) {
    pthread_mutex_lock(&start_lock);
    wanted_workers = threads < 1 ? 1 : threads;
    pthread_mutex_unlock(&start_lock);
}

void zoo_pool_run(long parts, zoo_pool_fn fn, void *context) {
    if (parts <= 0) return;
    if (parts == 1 || inside_part || wanted_workers <= 1 || pthread_mutex_trylock(&run_lock) != 0) {
        for (long p = 0; p < parts; p++) fn(context, p);
        return;
    }
    if (started_workers < wanted_workers - 1) start_workers();
    struct job j = {.fn = fn, .context = context, .parts = parts};
    atomic_init(&j.next, 0);
    atomic_init(&j.done, 0);
    atomic_store(&current, &j);
    atomic_fetch_add(&generation, 1);
    if (atomic_load(&sleepers) > 0)
        syscall(SYS_futex, (unsigned *)&generation, FUTEX_WAKE_PRIVATE, MAX_WORKERS, NULL, NULL, 0);
    take_parts(&j);
    // Parts a worker claimed and is finishing; yield now and then in case it shares our core.
    for (long spins = 1; atomic_load(&j.done) < parts; spins++) {
        if (spins % 1024 == 0) sched_yield(); else PAUSE();
    }
    atomic_store(&current, NULL);
    for (long spins = 1; atomic_load(&users) > 0; spins++) {
        if (spins % 1024 == 0) sched_yield(); else PAUSE();
    }
    pthread_mutex_unlock(&run_lock);
}
