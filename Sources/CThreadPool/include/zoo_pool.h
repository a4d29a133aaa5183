#ifndef ZOO_POOL_H
#define ZOO_POOL_H

typedef void (*zoo_pool_fn)(void *context, long part);

/// Runs fn(context, part) for every part in 0..<parts on the calling thread and the pool's
/// workers, and returns when all are done. Parts are claimed one at a time, so a worker that
/// is slow to start (a busy machine) leaves its parts to the others instead of being waited
/// for. A call from inside a part, or while another thread's call runs, runs serially.
void zoo_pool_run(long parts, zoo_pool_fn fn, void *context);

/// 1 on a thread while it runs a part of a zoo_pool_run (where a nested run is serial).
int zoo_pool_inside_part(void);

/// Sets the number of threads taking parts, the caller included (1: no workers). Workers
/// start on the first run that needs them.
void zoo_pool_set_threads(int threads);

#endif
