#include "parallel.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct {
    range_body body;
    void *context;
    int64_t begin, end;
    int worker;
} slice;

static void *run_slice(void *argument)
{
    const slice *job = argument;
    job->body(job->context, job->begin, job->end, job->worker);
    return NULL;
}

int parallel_workers(int64_t items, int threads, int64_t min_items_per_worker)
{
    int64_t workers = threads;
    if (min_items_per_worker > 0 && items / min_items_per_worker < workers)
        workers = items / min_items_per_worker;
    if (workers > items)
        workers = items;
    return workers < 1 ? 1 : (int)workers;
}

void parallel_for(int64_t items, int workers, range_body body, void *context)
{
    if (items <= 0)
        return;
    if (workers <= 1) {
        body(context, 0, items, 0);
        return;
    }
    slice *slices = malloc((size_t)workers * sizeof *slices);
    pthread_t *handles = malloc((size_t)workers * sizeof *handles);
    char *started = calloc((size_t)workers, 1);
    if (!slices || !handles || !started) {
        /* No memory for the bookkeeping: do the whole loop here, which needs none. */
        free(slices);
        free(handles);
        free(started);
        body(context, 0, items, 0);
        return;
    }
    for (int w = 0; w < workers; w++) {
        slices[w] = (slice){body, context, items * w / workers, items * (w + 1) / workers, w};
        if (w > 0)
            started[w] = pthread_create(&handles[w], NULL, run_slice, &slices[w]) == 0;
    }
    run_slice(&slices[0]);
    for (int w = 1; w < workers; w++) {
        if (started[w])
            pthread_join(handles[w], NULL);
        else
            run_slice(&slices[w]);
    }
    free(slices);
    free(handles);
    free(started);
}
