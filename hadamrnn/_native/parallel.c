#define _GNU_SOURCE /* RTLD_DEFAULT */
#include "parallel.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

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

/* The OpenMP entry points, looked up by name so that the extension links no runtime of its own
 * (a second OpenMP runtime in the process would start a second team). */
typedef void (*gomp_parallel_fn)(void (*function)(void *), void *data, unsigned threads, unsigned flags);
typedef int (*omp_query_fn)(void);
static gomp_parallel_fn gomp_parallel;
static omp_query_fn omp_thread_num, omp_team_size;
static int use_openmp, forked;

/* GNU OpenMP's team does not survive fork(): a child that enters a parallel region after its parent
 * used one waits forever (PyTorch's own operators included). A forked child runs on threads of its
 * own instead. */
static void after_fork_in_child(void)
{
    forked = 1;
    use_openmp = 0;
}

void parallel_init(void)
{
    gomp_parallel = (gomp_parallel_fn)dlsym(RTLD_DEFAULT, "GOMP_parallel");
    omp_thread_num = (omp_query_fn)dlsym(RTLD_DEFAULT, "omp_get_thread_num");
    omp_team_size = (omp_query_fn)dlsym(RTLD_DEFAULT, "omp_get_num_threads");
    use_openmp = parallel_openmp_available();
    pthread_atfork(NULL, NULL, after_fork_in_child);
}

int parallel_openmp_available(void)
{
    return gomp_parallel && omp_thread_num && omp_team_size && !forked;
}

const char *parallel_pool(void)
{
    return use_openmp ? "openmp" : "pthreads";
}

int parallel_use_pool(const char *name)
{
    if (strcmp(name, "pthreads") == 0) {
        use_openmp = 0;
        return 0;
    }
    if (strcmp(name, "openmp") != 0)
        return -1;
    if (!parallel_openmp_available())
        return -2;
    use_openmp = 1;
    return 0;
}

typedef struct {
    range_body body;
    void *context;
    int64_t items;
    int workers;
} team_job;

/* Each member of the team runs the slices of its number, modulo the team's size: the team may be
 * smaller than asked (nested in another parallel region, or a runtime that limits it). */
static void run_in_team(void *argument)
{
    const team_job *job = argument;
    const int size = omp_team_size();
    for (int w = omp_thread_num(); w < job->workers; w += size)
        job->body(job->context, job->items * w / job->workers, job->items * (w + 1) / job->workers, w);
}

void parallel_for(int64_t items, int workers, range_body body, void *context)
{
    if (items <= 0)
        return;
    if (workers <= 1) {
        body(context, 0, items, 0);
        return;
    }
    if (use_openmp) {
        team_job job = {body, context, items, workers};
        gomp_parallel(run_in_team, &job, (unsigned)workers, 0);
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
