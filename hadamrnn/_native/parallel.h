/*
 * A static parallel-for over POSIX threads.
 *
 * The kernels split their outer loop (rows of a transform, sequences of a batch) into `workers`
 * contiguous slices, one per thread. Static slices keep each sequence on one thread from its first
 * step to its last (its state stays in that core's L1), and cost one thread start per slice: the
 * kernels run for milliseconds, a thread starts in tens of microseconds.
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
 * The calling thread runs slice 0; a slice whose thread cannot be started runs on the calling
 * thread too, so the work is always complete and the results never depend on it. */
void parallel_for(int64_t items, int workers, range_body body, void *context);

#endif /* HADAMRNN_PARALLEL_H */
