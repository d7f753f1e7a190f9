/*
 * A static parallel-for over the process's OpenMP team, or over POSIX threads.
 *
 * The kernels split their outer loop (rows of a transform, sequences of a batch) into `workers`
 * contiguous slices, one per thread. Static slices keep each sequence on one thread from its first
 * step to its last (its state stays in that core's L1).
 *
 * Where the process already runs an OpenMP runtime (PyTorch's CPU build loads one, and its team
 * stays awake for milliseconds after every parallel operator, spinning), the slices run in that
 * team: threads of our own would compete with the spinning ones for the same cores (the copy
 * step's forward took as long on two threads as on one). Otherwise each slice gets a thread of its
 * own per call: the kernels run for milliseconds, a thread starts in tens of microseconds.
 */
#ifndef HADAMRNN_PARALLEL_H
#define HADAMRNN_PARALLEL_H

#include <stdint.h>

/* Process items [begin, end) of the loop; `worker` (0 ... workers-1) indexes per-thread scratch. */
typedef void (*range_body)(void *context, int64_t begin, int64_t end, int worker);

/* The number of slices to use: at most `threads`, at most one per `min_items_per_worker` items,
 * and at least one. */
int parallel_workers(int64_t items, int threads, int64_t min_items_per_worker);

/* Run body on `workers` slices of [0, items): slice w is [w·items/workers, (w+1)·items/workers).
 * Every slice runs exactly once, whichever thread runs it (a slice whose thread cannot be started
 * runs on the calling thread), so the work is always complete and the results never depend on it. */
void parallel_for(int64_t items, int workers, range_body body, void *context);

/* Look for an OpenMP runtime in the process (GOMP_parallel, which GNU, LLVM and Intel runtimes all
 * export) and use it when found. Call once, when the module loads. */
void parallel_init(void);

/* Which threads run the slices: "openmp" or "pthreads". */
const char *parallel_pool(void);

/* Whether parallel_init found an OpenMP runtime, and this process is not a fork of the one that did. */
int parallel_openmp_available(void);

/* Choose the threads: "openmp" (needs parallel_openmp_available()) or "pthreads". Returns 0, or -1
 * for an unknown name, or -2 for "openmp" without a runtime. Not while a kernel runs. */
int parallel_use_pool(const char *name);

#endif /* HADAMRNN_PARALLEL_H */
