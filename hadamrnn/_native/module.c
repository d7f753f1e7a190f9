/*
 * hadamrnn._kernels: the Python face of the native kernels.
 *
 * No torch headers: tensors arrive as raw addresses (tensor.data_ptr()) plus their sizes, and
 * hadamrnn/native.py, the only intended caller, checks dtypes, devices, shapes and contiguity
 * before it calls. This module re-checks what would make a kernel read or write out of bounds or
 * loop forever (sizes, block size, missing buffers), and releases the GIL while a kernel runs.
 *
 * The kernel functions take keyword arguments, so that a call reads like the kernel's contract;
 * fwht also takes its nine required ones by position, which native.py uses: parsing the keywords
 * cost about 0.7 µs more per call, 5 % of the transform of a (128, 512) batch.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdlib.h>
#include <string.h>

#ifdef __linux__
#include <sys/mman.h>
#endif

#include "kernels.h"
#include "parallel.h"

/* ------------------------------------------------------------------------------------------------
 * Instruction set: chosen once at import from the CPU, changeable for tests
 * --------------------------------------------------------------------------------------------- */

static const kernel_table *float32_kernels = &kernels_f32_portable;
static const char *float32_instruction_set = "portable";

static int cpu_has_avx2(void)
{
#if HADAMRNN_HAVE_AVX2
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static int cpu_has_avx512(void)
{
#if HADAMRNN_HAVE_AVX2
    return cpu_has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
#else
    return 0;
#endif
}

static PyObject *py_instruction_set(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return PyUnicode_FromString(float32_instruction_set);
}

static PyObject *py_available_instruction_sets(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    if (cpu_has_avx512())
        return Py_BuildValue("(sss)", "portable", "avx2", "avx512");
    return cpu_has_avx2() ? Py_BuildValue("(ss)", "portable", "avx2") : Py_BuildValue("(s)", "portable");
}

static PyObject *py_set_instruction_set(PyObject *module, PyObject *args)
{
    (void)module;
    const char *name;
    if (!PyArg_ParseTuple(args, "s:set_instruction_set", &name))
        return NULL;
    if (strcmp(name, "portable") == 0) {
        float32_kernels = &kernels_f32_portable;
        float32_instruction_set = "portable";
        Py_RETURN_NONE;
    }
#if HADAMRNN_HAVE_AVX2
    if (strcmp(name, "avx2") == 0 && cpu_has_avx2()) {
        float32_kernels = &kernels_f32_avx2;
        float32_instruction_set = "avx2";
        Py_RETURN_NONE;
    }
    if (strcmp(name, "avx512") == 0 && cpu_has_avx512()) {
        float32_kernels = &kernels_f32_avx512;
        float32_instruction_set = "avx512";
        Py_RETURN_NONE;
    }
#endif
    if (strcmp(name, "avx2") == 0)
        PyErr_SetString(PyExc_ValueError,
                        "instruction set 'avx2' is not available: this CPU or build lacks AVX2 + FMA; "
                        "expected 'portable'");
    else if (strcmp(name, "avx512") == 0)
        PyErr_SetString(PyExc_ValueError,
                        "instruction set 'avx512' is not available: this CPU or build lacks AVX-512 F, DQ and VL "
                        "with AVX2 + FMA; expected one of available_instruction_sets()");
    else
        PyErr_Format(PyExc_ValueError, "instruction set must be 'portable', 'avx2' or 'avx512', got '%s'", name);
    return NULL;
}

/* ------------------------------------------------------------------------------------------------
 * Threads: the process's OpenMP team when there is one, changeable for tests
 * --------------------------------------------------------------------------------------------- */

static PyObject *py_thread_pool(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return PyUnicode_FromString(parallel_pool());
}

static PyObject *py_available_thread_pools(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return parallel_openmp_available() ? Py_BuildValue("(ss)", "openmp", "pthreads") : Py_BuildValue("(s)", "pthreads");
}

static PyObject *py_set_thread_pool(PyObject *module, PyObject *args)
{
    (void)module;
    const char *name;
    if (!PyArg_ParseTuple(args, "s:set_thread_pool", &name))
        return NULL;
    const int status = parallel_use_pool(name);
    if (status == -1)
        PyErr_Format(PyExc_ValueError, "thread pool must be 'openmp' or 'pthreads', got '%s'", name);
    else if (status == -2)
        PyErr_SetString(PyExc_ValueError,
                        "thread pool 'openmp' is not available: no OpenMP runtime is loaded in this process "
                        "(import torch first), or this process is a fork of the one that loaded it (the team "
                        "does not survive fork); expected 'pthreads'");
    if (status)
        return NULL;
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------------------------------
 * Argument checks
 * --------------------------------------------------------------------------------------------- */

static int is_power_of_two(long long value)
{
    return value >= 1 && (value & (value - 1)) == 0;
}

static const kernel_table *kernels_for(const char *dtype)
{
    if (strcmp(dtype, "float32") == 0)
        return float32_kernels;
    if (strcmp(dtype, "float64") == 0)
        return &kernels_f64_portable;
    PyErr_Format(PyExc_ValueError, "dtype must be 'float32' or 'float64', got '%s'", dtype);
    return NULL;
}

/*
 * The sizes reach this module after hadamrnn.core has checked them (hadamrnn/native.py calls its
 * checks, which carry the messages for users); a wrong size here would make a kernel read or write
 * out of bounds, so it is refused again, without restating the rules: n = q m, m = r c with c a
 * power of two, r <= 256 (the kernels keep a column of r values on the stack), and the r x r base
 * matrix present when r > 1. (Whether the base matrix is a Hadamard
 * matrix is the core's business: any signs are safe to read.)
 */
static int check_sizes(long long n, long long block_size, long long base_order, unsigned long long base,
                       long long threads)
{
    if (n < 1 || block_size < 1 || n % block_size || base_order < 1 || base_order > 256 || block_size % base_order
        || !is_power_of_two(block_size / base_order) || (base_order > 1 && base == 0) || threads < 1) {
        PyErr_Format(PyExc_ValueError,
                     "hadamrnn._kernels got sizes that hadamrnn.core does not allow: n=%lld, block_size=%lld, "
                     "base_order=%lld, base=%s, threads=%lld (call the kernels through hadamrnn.native)",
                     n, block_size, base_order, base ? "given" : "0", threads);
        return -1;
    }
    return 0;
}

static int check_count(const char *name, long long value)
{
    if (value < 0) {
        PyErr_Format(PyExc_ValueError, "%s must be non-negative, got %lld", name, value);
        return -1;
    }
    return 0;
}

static int check_address(const char *name, unsigned long long address)
{
    if (address == 0) {
        PyErr_Format(PyExc_ValueError, "%s is required: expected the address of a buffer, got 0", name);
        return -1;
    }
    return 0;
}

/*
 * Ask Linux to back a large output buffer with 2 MiB pages before a kernel writes it for the first
 * time. A buffer fresh from the allocator is untouched memory, and on the project's VM each first
 * touch of a 4 KiB page costs about 4.5 us: 170 ms for the 160 MB of states of a pMNIST batch,
 * several times the kernel itself. With transparent huge pages in "madvise" mode (a common
 * default) this hint alone takes that to a few tens of milliseconds; elsewhere it does nothing.
 * Only the whole 2 MiB pages inside the buffer are advised, so no memory outside it is affected.
 */
static void advise_huge_pages(void *buffer, long long elements, const char *dtype)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge_page = (uintptr_t)2 << 20;
    const uintptr_t bytes = (uintptr_t)elements * (strcmp(dtype, "float64") == 0 ? 8 : 4);
    const uintptr_t begin = ((uintptr_t)buffer + huge_page - 1) & ~(huge_page - 1);
    const uintptr_t end = ((uintptr_t)buffer + bytes) & ~(huge_page - 1);
    if (buffer && end > begin)
        madvise((void *)begin, end - begin, MADV_HUGEPAGE); /* a hint: failure changes nothing */
#else
    (void)buffer;
    (void)elements;
    (void)dtype;
#endif
}

static PyObject *status_to_result(int status)
{
    if (status == KERNEL_OUT_OF_MEMORY)
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

#define ADDRESS(value) ((void *)(uintptr_t)(value))

/* ------------------------------------------------------------------------------------------------
 * fwht
 * --------------------------------------------------------------------------------------------- */

static PyObject *py_fwht(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *keywords[] = {"dtype", "src", "dst", "rows", "n", "block_size", "signs", "scale", "threads",
                               "base_order", "base", NULL};
    const char *dtype;
    unsigned long long src, dst, signs, base = 0;
    long long rows, n, block_size, threads, base_order = 1;
    double scale;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "sKKLLLKdL|$LK:fwht", keywords, &dtype, &src, &dst, &rows, &n,
                                     &block_size, &signs, &scale, &threads, &base_order, &base))
        return NULL;
    const kernel_table *kernels = kernels_for(dtype);
    if (!kernels || check_sizes(n, block_size, base_order, base, threads) || check_count("rows", rows))
        return NULL;
    if (rows == 0)
        Py_RETURN_NONE;
    if (check_address("src", src) || check_address("dst", dst))
        return NULL;

    int status;
    Py_BEGIN_ALLOW_THREADS
    if (dst != src)
        advise_huge_pages(ADDRESS(dst), rows * n, dtype);
    status = kernels->fwht_rows(ADDRESS(src), ADDRESS(dst), rows, n, block_size, base_order, ADDRESS(base),
                                ADDRESS(signs), scale, (int)threads);
    Py_END_ALLOW_THREADS
    return status_to_result(status);
}

/* ------------------------------------------------------------------------------------------------
 * recurrence_forward / recurrence_backward
 * --------------------------------------------------------------------------------------------- */

static const char *const input_kind_names[] = {"features", "tokens", "projected"};

static int parse_input_kind(const char *name, input_kind *kind)
{
    for (int k = 0; k < 3; k++)
        if (strcmp(name, input_kind_names[k]) == 0) {
            *kind = (input_kind)k;
            return 0;
        }
    PyErr_Format(PyExc_ValueError, "kind must be 'features', 'tokens' or 'projected', got '%s'", name);
    return -1;
}

/* Checks shared by the forward and the backward; fills the sizes and the forward's buffers. */
static int fill_problem(recurrence_problem *problem, const char *kind_name, int relu, long long batch,
                        long long steps, long long hidden, long long block_size, long long base_order,
                        unsigned long long base, double scale, long long input_width,
                        unsigned long long inputs, unsigned long long h0, unsigned long long signs,
                        unsigned long long columns, unsigned long long bias, unsigned long long states,
                        long long threads)
{
    input_kind kind;
    if (parse_input_kind(kind_name, &kind) || check_sizes(hidden, block_size, base_order, base, threads)
        || check_count("batch", batch) || check_count("steps", steps))
        return -1;
    if (kind == INPUT_PROJECTED ? input_width != hidden : input_width < 1) {
        PyErr_Format(PyExc_ValueError, "input_width must be %s for kind '%s', got %lld",
                     kind == INPUT_PROJECTED ? "equal to hidden" : "at least 1", kind_name, input_width);
        return -1;
    }
    if (batch > 0 && steps > 0) {
        if (check_address("inputs", inputs) || check_address("h0", h0) || check_address("signs", signs)
            || check_address("states", states) || (kind != INPUT_PROJECTED && check_address("columns", columns)))
            return -1;
    }
    *problem = (recurrence_problem){
        .batch = batch,
        .steps = steps,
        .hidden = hidden,
        .block_size = block_size,
        .base_order = base_order,
        .base = ADDRESS(base),
        .scale = scale,
        .input_width = input_width,
        .kind = kind,
        .relu = relu,
        .inputs = ADDRESS(inputs),
        .h0 = ADDRESS(h0),
        .signs = ADDRESS(signs),
        .columns = ADDRESS(columns),
        .bias = ADDRESS(bias),
        .states = ADDRESS(states),
    };
    return 0;
}

/* A checkpoint interval is 0 (every state stored) or positive, and only for the linear recurrence:
 * the ReLU step cannot be inverted. */
static int check_checkpoint_interval(long long interval, int relu)
{
    if (interval < 0) {
        PyErr_Format(PyExc_ValueError, "checkpoint_interval must be at least 0, got %lld", interval);
        return -1;
    }
    if (interval > 0 && relu) {
        PyErr_SetString(PyExc_ValueError,
                        "checkpoint_interval needs the linear recurrence: the ReLU step cannot be inverted");
        return -1;
    }
    return 0;
}

/* The fused read-out's sizes and weights: none (k = 0), or k >= 1 with V given. */
static int fill_readout(recurrence_problem *problem, long long batch, long long steps, long long readout_size,
                        unsigned long long readout_weight, unsigned long long readout_bias)
{
    if (check_count("readout_size", readout_size))
        return -1;
    if (readout_size > 0 && batch > 0 && steps > 0 && check_address("readout_weight", readout_weight))
        return -1;
    problem->readout_size = readout_size;
    problem->readout_weight = ADDRESS(readout_weight);
    problem->readout_bias = ADDRESS(readout_bias);
    return 0;
}

static const char *const loss_kind_names[] = {"none", "cross_entropy", "binary_cross_entropy"};

/* The fused loss: none, or a kind with its targets on a read-out (k >= 1). */
static int fill_loss(recurrence_problem *problem, const char *name, unsigned long long targets, int has_ignore_index,
                     long long ignore_index, unsigned long long normalizers, unsigned long long loss_gradients)
{
    int kind = -1;
    for (int k = 0; k < 3; k++)
        if (strcmp(name, loss_kind_names[k]) == 0)
            kind = k;
    if (kind < 0) {
        PyErr_Format(PyExc_ValueError, "loss must be 'none', 'cross_entropy' or 'binary_cross_entropy', got '%s'", name);
        return -1;
    }
    if (kind != LOSS_NONE && problem->readout_size < 1) {
        PyErr_Format(PyExc_ValueError, "loss '%s' needs a read-out: expected readout_size >= 1, got %lld", name,
                     (long long)problem->readout_size);
        return -1;
    }
    if (kind != LOSS_NONE && problem->batch > 0 && problem->steps > 0
        && (check_address("targets", targets)
            || (kind == LOSS_CROSS_ENTROPY && check_address("normalizers", normalizers))))
        return -1;
    problem->loss = (loss_kind)kind;
    problem->targets = ADDRESS(targets);
    problem->has_ignore_index = has_ignore_index;
    problem->ignore_index = ignore_index;
    problem->normalizers = ADDRESS(normalizers);
    problem->loss_gradients = kind == LOSS_NONE ? NULL : ADDRESS(loss_gradients); /* 0: not kept */
    return 0;
}

static PyObject *py_recurrence_forward(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *keywords[] = {"dtype", "kind", "relu", "batch", "steps", "hidden", "block_size", "scale",
                               "input_width", "inputs", "h0", "signs", "columns", "bias", "states", "threads",
                               "readout_size", "readout_weight", "readout_bias", "logits", "base_order", "base",
                               "checkpoint_interval", "loss", "targets", "has_ignore_index", "ignore_index",
                               "normalizers", "loss_total", "loss_gradients", NULL};
    const char *dtype, *kind, *loss = "none";
    int relu, has_ignore_index = 0;
    long long batch, steps, hidden, block_size, input_width, threads, readout_size = 0, base_order = 1;
    long long ignore_index = 0;
    double scale;
    unsigned long long inputs, h0, signs, columns, bias, states, base = 0;
    unsigned long long readout_weight = 0, readout_bias = 0, logits = 0, targets = 0, loss_total = 0, normalizers = 0;
    unsigned long long loss_gradients = 0;
    long long checkpoint_interval = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "sspLLLLdLKKKKKKL|$LKKKLKLsKpLKKK:recurrence_forward", keywords,
                                     &dtype, &kind, &relu, &batch, &steps, &hidden, &block_size, &scale, &input_width,
                                     &inputs, &h0, &signs, &columns, &bias, &states, &threads, &readout_size,
                                     &readout_weight, &readout_bias, &logits, &base_order, &base,
                                     &checkpoint_interval, &loss, &targets, &has_ignore_index, &ignore_index,
                                     &normalizers, &loss_total, &loss_gradients))
        return NULL;
    if (check_checkpoint_interval(checkpoint_interval, relu))
        return NULL;
    const kernel_table *kernels = kernels_for(dtype);
    recurrence_problem problem;
    if (!kernels || fill_problem(&problem, kind, relu, batch, steps, hidden, block_size, base_order, base, scale,
                                 input_width, inputs, h0, signs, columns, bias, states, threads)
        || fill_readout(&problem, batch, steps, readout_size, readout_weight, readout_bias)
        || fill_loss(&problem, loss, targets, has_ignore_index, ignore_index, normalizers, loss_gradients))
        return NULL;
    if (problem.loss == LOSS_NONE && readout_size > 0 && batch > 0 && steps > 0 && check_address("logits", logits))
        return NULL;
    if (problem.loss != LOSS_NONE && check_address("loss_total", loss_total))
        return NULL;
    problem.logits = problem.loss == LOSS_NONE ? ADDRESS(logits) : NULL;
    problem.loss_total = ADDRESS(loss_total);
    if (problem.loss != LOSS_NONE)
        *problem.loss_total = 0; /* the value of an empty batch or sequence */
    problem.checkpoint_interval = checkpoint_interval;
    if (batch == 0 || steps == 0)
        Py_RETURN_NONE;

    int status;
    Py_BEGIN_ALLOW_THREADS
    if (!checkpoint_interval)
        advise_huge_pages(problem.states, batch * steps * hidden, dtype);
    status = kernels->recurrence_forward(&problem, (int)threads);
    Py_END_ALLOW_THREADS
    return status_to_result(status);
}

static PyObject *py_recurrence_backward(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *keywords[] = {"dtype", "kind", "relu", "batch", "steps", "hidden", "block_size", "scale",
                               "input_width", "inputs", "h0", "signs", "columns", "bias", "states", "grad_states",
                               "grad_inputs", "grad_h0", "grad_signs", "grad_columns", "grad_bias", "threads",
                               "readout_size", "readout_weight", "readout_bias", "grad_last", "grad_logits",
                               "grad_readout_weight", "grad_readout_bias", "base_order", "base",
                               "checkpoint_interval", "anchor_interval", "loss", "targets", "has_ignore_index",
                               "ignore_index", "normalizers", "loss_gradient", "loss_gradients", NULL};
    const char *dtype, *kind, *loss = "none";
    int relu, has_ignore_index = 0;
    long long batch, steps, hidden, block_size, input_width, threads, readout_size = 0, base_order = 1;
    long long ignore_index = 0;
    double scale, loss_gradient = 0;
    unsigned long long inputs, h0, signs, columns, bias, states, base = 0, targets = 0, normalizers = 0;
    unsigned long long loss_gradients = 0;
    unsigned long long grad_states, grad_inputs, grad_h0, grad_signs, grad_columns, grad_bias;
    unsigned long long readout_weight = 0, readout_bias = 0, grad_last = 0, grad_logits = 0;
    unsigned long long grad_readout_weight = 0, grad_readout_bias = 0;
    long long checkpoint_interval = 0, anchor_interval = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "sspLLLLdLKKKKKKKKKKKKL|$LKKKKKKLKLLsKpLKdK:recurrence_backward",
                                     keywords, &dtype, &kind, &relu, &batch, &steps, &hidden, &block_size, &scale,
                                     &input_width, &inputs, &h0, &signs, &columns, &bias, &states, &grad_states,
                                     &grad_inputs, &grad_h0, &grad_signs, &grad_columns, &grad_bias, &threads,
                                     &readout_size, &readout_weight, &readout_bias, &grad_last, &grad_logits,
                                     &grad_readout_weight, &grad_readout_bias, &base_order, &base,
                                     &checkpoint_interval, &anchor_interval, &loss, &targets, &has_ignore_index,
                                     &ignore_index, &normalizers, &loss_gradient, &loss_gradients))
        return NULL;
    if (check_checkpoint_interval(checkpoint_interval, relu) || check_checkpoint_interval(anchor_interval, relu))
        return NULL;
    if (anchor_interval && checkpoint_interval) {
        PyErr_Format(PyExc_ValueError, "anchor_interval goes with every state stored (checkpoint_interval=0), got "
                     "checkpoint_interval=%lld", checkpoint_interval);
        return NULL;
    }
    const kernel_table *kernels = kernels_for(dtype);
    recurrence_problem problem;
    if (!kernels || fill_problem(&problem, kind, relu, batch, steps, hidden, block_size, base_order, base, scale,
                                 input_width, inputs, h0, signs, columns, bias, states, threads)
        || fill_readout(&problem, batch, steps, readout_size, readout_weight, readout_bias))
        return NULL;
    if (fill_loss(&problem, loss, targets, has_ignore_index, ignore_index, normalizers, loss_gradients))
        return NULL;
    problem.loss_gradient = loss_gradient;
    if (problem.kind == INPUT_TOKENS && grad_inputs) {
        PyErr_SetString(PyExc_ValueError, "token ids have no gradient: expected grad_inputs=0 for kind 'tokens'");
        return NULL;
    }
    problem.grad_states = ADDRESS(grad_states); /* 0 (none) means zero, like grad_last and grad_logits */
    problem.grad_last = ADDRESS(grad_last);
    problem.grad_logits = ADDRESS(grad_logits);
    problem.grad_readout_weight = ADDRESS(grad_readout_weight);
    problem.grad_readout_bias = ADDRESS(grad_readout_bias);
    problem.grad_inputs = ADDRESS(grad_inputs);
    problem.grad_h0 = ADDRESS(grad_h0);
    problem.grad_signs = ADDRESS(grad_signs);
    problem.grad_columns = ADDRESS(grad_columns);
    problem.grad_bias = ADDRESS(grad_bias);
    problem.checkpoint_interval = checkpoint_interval;
    problem.anchor_interval = anchor_interval;

    int status;
    Py_BEGIN_ALLOW_THREADS
    if (problem.kind == INPUT_PROJECTED)
        advise_huge_pages(problem.grad_inputs, batch * steps * hidden, dtype);
    status = kernels->recurrence_backward(&problem, (int)threads);
    Py_END_ALLOW_THREADS
    return status_to_result(status);
}

/* ------------------------------------------------------------------------------------------------
 * add_probe: the yardstick of the transform's speed
 * --------------------------------------------------------------------------------------------- */

static PyObject *py_add_probe(PyObject *module, PyObject *args)
{
    (void)module;
    long long iterations;
    if (!PyArg_ParseTuple(args, "L:add_probe", &iterations))
        return NULL;
    if (check_count("iterations", iterations))
        return NULL;
#if HADAMRNN_HAVE_AVX2
    if (cpu_has_avx2()) {
        float result;
        Py_BEGIN_ALLOW_THREADS
        result = add_probe_avx2(iterations);
        Py_END_ALLOW_THREADS
        return Py_BuildValue("(Ld)", iterations * 96, (double)result);
    }
#endif
    PyErr_SetString(PyExc_RuntimeError, "add_probe needs a CPU with AVX2 and FMA");
    return NULL;
}

/* ------------------------------------------------------------------------------------------------
 * states_buffer: memory for the (B, T, n) states that the forward returns, reused across calls
 *
 * A fresh allocation this large comes straight from the system (malloc maps it, free unmaps it),
 * and the first touch of each of its pages costs a fault in which the system zeroes the page:
 * 15 ms for the 160 MB of one pMNIST batch, more than the forward kernel itself takes to write
 * them. A states_buffer exposes its memory through the buffer protocol (torch.frombuffer makes
 * the tensor, which holds the buffer); when the last tensor on it goes, its memory goes back to a
 * pool of STATES_POOL_SLOTS blocks, and the next request of the same size takes it again, already
 * mapped. The pool is touched only with the GIL held (creation here, deallocation by Python).
 * --------------------------------------------------------------------------------------------- */

#define STATES_POOL_SLOTS 2
#define HUGE_PAGE_BYTES ((size_t)2 << 20)

typedef struct {
    void *memory;
    Py_ssize_t bytes;
} pooled_block;

static pooled_block states_pool[STATES_POOL_SLOTS]; /* oldest first */
static int states_pool_count;

typedef struct {
    PyObject_HEAD
    void *memory;
    Py_ssize_t bytes;
} states_buffer;

static int states_buffer_get(PyObject *self, Py_buffer *view, int flags)
{
    states_buffer *buffer = (states_buffer *)self;
    return PyBuffer_FillInfo(view, self, buffer->memory, buffer->bytes, 0, flags); /* writable */
}

static void states_buffer_dealloc(PyObject *self)
{
    states_buffer *buffer = (states_buffer *)self;
    if (buffer->memory) {
        if (states_pool_count == STATES_POOL_SLOTS) { /* evict the oldest block */
            free(states_pool[0].memory);
            memmove(states_pool, states_pool + 1, (STATES_POOL_SLOTS - 1) * sizeof *states_pool);
            states_pool_count--;
        }
        states_pool[states_pool_count++] = (pooled_block){buffer->memory, buffer->bytes};
    }
    Py_TYPE(self)->tp_free(self);
}

static PyBufferProcs states_buffer_procs = {states_buffer_get, NULL};

static PyTypeObject states_buffer_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hadamrnn._kernels.states_buffer",
    .tp_basicsize = sizeof(states_buffer),
    .tp_dealloc = states_buffer_dealloc,
    .tp_as_buffer = &states_buffer_procs,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Memory for returned states; it returns to the kernels' pool when released.",
};

static PyObject *py_states_buffer(PyObject *module, PyObject *args)
{
    (void)module;
    Py_ssize_t bytes;
    if (!PyArg_ParseTuple(args, "n:states_buffer", &bytes))
        return NULL;
    if (bytes < 1) {
        PyErr_Format(PyExc_ValueError, "bytes must be at least 1, got %zd", bytes);
        return NULL;
    }
    void *memory = NULL;
    for (int i = states_pool_count - 1; i >= 0; i--) /* the most recently released first */
        if (states_pool[i].bytes == bytes) {
            memory = states_pool[i].memory;
            memmove(states_pool + i, states_pool + i + 1, (size_t)(states_pool_count - i - 1) * sizeof *states_pool);
            states_pool_count--;
            break;
        }
    if (!memory) {
        /* aligned to 2 MiB, so that the huge-page hint covers the whole block */
        if (posix_memalign(&memory, HUGE_PAGE_BYTES, (size_t)bytes))
            return PyErr_NoMemory();
        advise_huge_pages(memory, bytes / 4, "float32");
    }
    states_buffer *buffer = PyObject_New(states_buffer, &states_buffer_type);
    if (!buffer) {
        free(memory);
        return NULL;
    }
    buffer->memory = memory;
    buffer->bytes = bytes;
    return (PyObject *)buffer;
}

static PyObject *py_release_states_pool(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    for (int i = 0; i < states_pool_count; i++)
        free(states_pool[i].memory);
    states_pool_count = 0;
    Py_RETURN_NONE;
}

static PyObject *py_states_pool_bytes(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    Py_ssize_t total = 0;
    for (int i = 0; i < states_pool_count; i++)
        total += states_pool[i].bytes;
    return PyLong_FromSsize_t(total);
}

/* ------------------------------------------------------------------------------------------------
 * The module
 * --------------------------------------------------------------------------------------------- */

static PyMethodDef methods[] = {
    {"fwht", (PyCFunction)(void (*)(void))py_fwht, METH_VARARGS | METH_KEYWORDS,
     "fwht(*, dtype, src, dst, rows, n, block_size, signs, scale, threads, base_order=1, base=0)\n\n"
     "dst = u * ((I_{n/m} kron H_r kron S_c) src) * scale for each of `rows` rows, m = r c (u = 1 when\n"
     "signs is 0; base: the address of H_r, r x r int8, row-major, when base_order r > 1)."},
    {"recurrence_forward", (PyCFunction)(void (*)(void))py_recurrence_forward, METH_VARARGS | METH_KEYWORDS,
     "recurrence_forward(*, dtype, kind, relu, batch, steps, hidden, block_size, scale, input_width, inputs,\n"
     "                   h0, signs, columns, bias, states, threads, readout_size=0, readout_weight=0,\n"
     "                   readout_bias=0, logits=0, base_order=1, base=0)\n\n"
     "states[b, t] = h_{t+1} of h_t = W h_{t-1} + U x_t + b (ReLU'd if relu) for every sequence b,\n"
     "with W = diag(signs) (I kron H_m) * scale, H_m = H_r kron S_c, and scale = 1/sqrt(block_size);\n"
     "with readout_size = k > 0, also logits[b, t] = V ReLU(states[b, t]) + c; with a loss\n"
     "('cross_entropy' on int64 targets, 'binary_cross_entropy' on real ones) no logits, but\n"
     "loss_total[0] = the sum of the steps' losses (a double), and with loss_gradients nonzero the\n"
     "steps' d(loss)/d(logits) there, (B, T, k), for the backward."},
    {"recurrence_backward", (PyCFunction)(void (*)(void))py_recurrence_backward, METH_VARARGS | METH_KEYWORDS,
     "recurrence_backward(*, ..., grad_states, grad_inputs, grad_h0, grad_signs, grad_columns, grad_bias,\n"
     "                    threads, readout_size=0, readout_weight=0, readout_bias=0, grad_last=0,\n"
     "                    grad_logits=0, grad_readout_weight=0, grad_readout_bias=0, base_order=1, base=0)\n\n"
     "The gradients of the recurrence from dL/dstates, dL/dh_T and dL/dlogits (an incoming gradient\n"
     "whose address is 0 is zero); an outgoing gradient whose address is 0 is skipped. With a loss,\n"
     "dL/dlogits is loss_gradient times the gradient of the steps' summed losses: the forward's\n"
     "loss_gradients when nonzero, else formed again from the states."},
    {"instruction_set", py_instruction_set, METH_NOARGS,
     "The instruction set of the float32 kernels now in use: 'avx512', 'avx2' or 'portable'."},
    {"available_instruction_sets", py_available_instruction_sets, METH_NOARGS,
     "The instruction sets this CPU and build can run: ('portable',), ('portable', 'avx2') or\n"
     "('portable', 'avx2', 'avx512')."},
    {"set_instruction_set", py_set_instruction_set, METH_VARARGS,
     "set_instruction_set(name): use 'portable', 'avx2' or 'avx512' float32 kernels from now on."},
    {"thread_pool", py_thread_pool, METH_NOARGS,
     "The threads that run the kernels' slices: 'openmp' (the process's OpenMP team) or 'pthreads'."},
    {"available_thread_pools", py_available_thread_pools, METH_NOARGS,
     "('openmp', 'pthreads') where the process has an OpenMP runtime, else ('pthreads',)."},
    {"set_thread_pool", py_set_thread_pool, METH_VARARGS,
     "set_thread_pool(name): run the kernels' slices on 'openmp' or 'pthreads' threads from now on."},
    {"add_probe", py_add_probe, METH_VARARGS,
     "add_probe(iterations) -> (additions, checksum): 96 * iterations float additions in AVX2 registers and\n"
     "nothing else, the add rate the transform is measured against."},
    {"states_buffer", py_states_buffer, METH_VARARGS,
     "states_buffer(bytes): writable memory (buffer protocol) of `bytes` bytes, from the pool when it\n"
     "holds a released block of that size; released memory returns to the pool."},
    {"release_states_pool", py_release_states_pool, METH_NOARGS,
     "Free every block the pool of released states holds."},
    {"states_pool_bytes", py_states_pool_bytes, METH_NOARGS, "Bytes the pool of released states holds."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT,
    "hadamrnn._kernels",
    "Native FWHT and Hadamard-recurrence kernels of hadamrnn (use hadamrnn.native, not this module).",
    -1,
    methods,
};

PyMODINIT_FUNC PyInit__kernels(void)
{
#if HADAMRNN_HAVE_AVX2
    /* The AVX-512 row transform measured faster than the AVX2 one on Zen 4 (docs/performance.md). */
    if (cpu_has_avx512()) {
        float32_kernels = &kernels_f32_avx512;
        float32_instruction_set = "avx512";
    } else if (cpu_has_avx2()) {
        float32_kernels = &kernels_f32_avx2;
        float32_instruction_set = "avx2";
    }
#endif
    parallel_init();
    if (PyType_Ready(&states_buffer_type) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&module_definition);
    if (module && PyModule_AddIntConstant(module, "FWHT_MIN_ELEMENTS_PER_WORKER", FWHT_MIN_ELEMENTS_PER_WORKER) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
