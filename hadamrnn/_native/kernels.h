/*
 * Kernels of hadamrnn's native backend: the fast Walsh–Hadamard transform (FWHT) and the fused
 * Hadamard recurrence, forward and backward, on raw row-major buffers.
 *
 * Notation (the same as hadamrnn/functional.py):
 *   S_c       the Sylvester Hadamard matrix of order c = 2^j (symmetric, S_c S_c = c I);
 *   H_r       a base Hadamard matrix of order r (hadamrnn.core.base_matrices; H_1 = [1]), given
 *             as r x r signed bytes (+1 or -1), row-major; not symmetric in general;
 *   H_m       H_r ⊗ S_c, the Hadamard matrix of a block of order m = r c;
 *   block FWHT with block size c: y = (I_{n/c} ⊗ S_c) x, the first log2(c) butterfly stages of
 *             the full transform (c = 1 is the identity);
 *   block transform: y = (I_{n/m} ⊗ H_m) x, the block FWHT with block size c followed, for r > 1,
 *             by the base product: within each block, output row a (c consecutive entries) is
 *             sum_b H_r[a][b] · row b, each term an exact sign flip, added in the order
 *             b = 0, 1, ..., r - 1;
 *   W         diag(u) (I_{n/m} ⊗ H_m) / sqrt(m), with u the sign vector;
 *   recurrence h_t = W h_{t-1} + U x_t + b            ("linear")
 *              h_t = ReLU(W h_{t-1} + U x_t + b)      ("relu").
 *
 * Every kernel exists in three builds of one source (kernel_template.h): float32 with AVX2,
 * float32 portable and float64 portable. The AVX2 and portable float32 builds perform the same
 * floating-point operations in the same order, so they agree bit for bit (the tests check it).
 *
 * Threads: each kernel splits its outer loop (rows, or sequences) statically across `threads`
 * threads: the process's OpenMP team where there is one, POSIX threads otherwise (parallel.h). No result depends on the number of threads: every row or sequence is computed by
 * one thread with the same code, and reductions over the batch go through per-sequence partial
 * sums that are added in batch order at the end.
 */
#ifndef HADAMRNN_KERNELS_H
#define HADAMRNN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* The AVX2 build needs GCC or clang (target attributes, __builtin_cpu_supports) on x86. */
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define HADAMRNN_HAVE_AVX2 1
#else
#define HADAMRNN_HAVE_AVX2 0
#endif

/* What the recurrence receives as its input x_t, and so how it forms the drive U x_t. */
typedef enum {
    /* (B, T, d) real features: U x_t = sum_j U[:, j] x_t[j], computed inside the time loop.
     * Meant for small d (1 for pixel-by-pixel MNIST), where materialising U x for all t costs more
     * memory traffic than the whole recurrence. */
    INPUT_FEATURES = 0,
    /* (B, T) int64 token ids: U x_t = U[:, id], a gathered column (one-hot inputs). */
    INPUT_TOKENS = 1,
    /* (B, T, n) real, already projected by the caller (large d: a GEMM does it better). */
    INPUT_PROJECTED = 2,
} input_kind;

/* The fused loss on the read-out (needs readout_size = k > 0). */
typedef enum {
    LOSS_NONE = 0,
    /* targets: int64 (B, T) class ids y_t in [0, k), or ignore_index: the step's loss is
     * log Σ_j exp(o_tj) - o_ty (max-subtracted), its gradient softmax(o_t) - onehot(y_t). */
    LOSS_CROSS_ENTROPY = 1,
    /* targets: real (B, T, k) y_tj: the step's loss is Σ_j max(o_tj, 0) - o_tj y_tj
     * + log(1 + exp(-|o_tj|)), its gradient sigmoid(o_tj) - y_tj. */
    LOSS_BINARY_CROSS_ENTROPY = 2,
} loss_kind;

/* One call of the recurrence. Buffers are contiguous and row-major; `real` means float or double
 * as chosen by the entry point. Sizes are element counts. */
typedef struct {
    int64_t batch;        /* B */
    int64_t steps;        /* T */
    int64_t hidden;       /* n, a multiple of m */
    int64_t block_size;   /* m = r c, c a power of two */
    int64_t base_order;   /* r, 1 for Sylvester blocks */
    const int8_t *base;   /* H_r, (r, r) row-major, entries +1 or -1; NULL when r = 1. The
                             backward applies its transpose. */
    double scale;         /* 1/sqrt(m), as hadamrnn.core.hadamard_scale computes it */
    int64_t input_width;  /* d for features, the vocabulary size for tokens, n for projected */
    input_kind kind;
    int relu;             /* 0: linear recurrence, 1: ReLU recurrence */
    const void *inputs;   /* real (B, T, d) | int64 (B, T) | real (B, T, n), by `kind` */
    const void *h0;       /* real (B, n) */
    const void *signs;    /* real (n): u */
    const void *columns;  /* real (input_width, n): row j is column j of U (U transposed);
                             unused for INPUT_PROJECTED */
    const void *bias;     /* real (n), or NULL */
    void *states;         /* real (B, T, n), written by the forward: h_1 ... h_T; or, with a
                             checkpoint interval, only the checkpoints (see below) */
    /* 0: `states` holds every state, and the backward reads them back. k > 0 (linear recurrence
     * only): `states` is (B, ceil(T/k), n) and holds h_t only for t = k, 2k, ... and t = T (slot
     * ceil(t/k) - 1, counting t from 1); the backward recomputes every other state from the next
     * one by inverting the step, h_{t-1} = W^{-1}(h_t - U x_t - b), and re-anchors on each
     * checkpoint. Memory O(B n T / k) instead of O(B n T). k >= T is the purely reversible
     * backward: only h_T is stored. */
    int64_t checkpoint_interval;
    /* Backward only, with checkpoint_interval 0 and the linear recurrence: k > 0 walks back as with
     * checkpoints, recomputing h_{t-1} from h_t and re-anchoring on the stored h_t for
     * t = k, 2k, ... and T, instead of reading every stored state: the gradients of the
     * checkpointed backward (bit for bit) without the memory traffic of the (B, T, n) states.
     * 0 reads every state. */
    int64_t anchor_interval;

    /* The fused read-out o_t = V ReLU(h_t) + c (readout_size = k > 0), or none (k = 0). Fusing it
     * spares the caller the (B, T, n) tensors of ReLU(h) and of its gradient. */
    int64_t readout_size;         /* k */
    const void *readout_weight;   /* real (k, n): V */
    const void *readout_bias;     /* real (k): c, or NULL */
    void *logits;                 /* real (B, T, k), written by the forward: o_1 ... o_T; NULL with a loss */

    /* The fused loss (loss != LOSS_NONE): the forward returns Σ_b Σ_t ℓ_bt (added in that order,
     * in double) in *loss_total and writes no logits; the backward forms ∂L/∂o_t =
     * loss_gradient · ∂ℓ_t/∂o_t, from the loss_gradients the forward kept or else from o_t, which
     * it computes again from h_t, and takes it where it takes grad_logits otherwise. The caller
     * applies the reduction (1/count for a mean) to the total and folds it into loss_gradient. */
    loss_kind loss;
    const void *targets;          /* int64 (B, T) for cross-entropy, real (B, T, k) for BCE */
    int has_ignore_index;         /* cross-entropy: steps whose target is ignore_index add nothing */
    int64_t ignore_index;
    double *loss_total;           /* forward: one double */
    void *normalizers;            /* cross-entropy: real (B, T), log Σ_j exp(o_tj), written by the
                                     forward and read by the backward (its softmax) */
    void *loss_gradients;         /* real (B, T, k) or NULL: ∂ℓ_t/∂o_t of every counted step, written
                                     by the forward (from the o_t it holds) and read by the backward,
                                     which then forms neither o_t nor its softmax again */
    double loss_gradient;         /* backward: dL/d(Σ ℓ_bt) */

    /* Backward only. Every output may be NULL when its gradient is not needed; so may every
     * incoming gradient (NULL is zero), which spares the caller a (B, T, n) tensor of zeros when
     * only h_T or only the read-out is used. */
    const void *grad_states;  /* real (B, T, n): dL/dh_t as seen from outside the recurrence */
    const void *grad_last;    /* real (B, n): dL/dh_T through a separate output h_T */
    const void *grad_logits;  /* real (B, T, k): dL/do_t */
    void *grad_readout_weight; /* real (k, n) */
    void *grad_readout_bias;   /* real (k) */
    void *grad_inputs;        /* real (B, T, d) or (B, T, n) (projected); never for tokens */
    void *grad_h0;            /* real (B, n) */
    void *grad_signs;         /* real (n) */
    void *grad_columns;       /* real (input_width, n): the gradient of U, transposed */
    void *grad_bias;          /* real (n) */
} recurrence_problem;

/* The transform of many rows starts a second thread only for at least this many elements per
 * thread: starting and joining a thread took 40-100 µs on the project's loaded 2-vCPU VM, while
 * the transform of a (128, 512) batch, 2^16 elements, takes about 13 µs, and 2^19 about 100 µs.
 * (The recurrence gives each thread whole sequences, milliseconds of work each.) */
#define FWHT_MIN_ELEMENTS_PER_WORKER ((int64_t)1 << 19)

/* Status codes of the kernels (0 is success). */
enum { KERNEL_OK = 0, KERNEL_OUT_OF_MEMORY = 1 };

/*
 * y = u ⊙ ((I_{n/m} ⊗ H_r ⊗ S_c) x) · scale for each of `rows` rows of length n, m = r c;
 * `signs` (u) may be NULL, meaning all ones; `base` is H_r (NULL when r = 1; pass the transpose of
 * H_r for the transposed transform). `src` may equal `dst` (in place); otherwise they must not
 * overlap.
 */
typedef int (*fwht_rows_fn)(const void *src, void *dst, int64_t rows, int64_t n, int64_t block_size,
                            int64_t base_order, const int8_t *base, const void *signs, double scale,
                            int threads);
typedef int (*recurrence_fn)(const recurrence_problem *problem, int threads);

/* The kernels of one build (one precision and instruction set). */
typedef struct {
    fwht_rows_fn fwht_rows;
    recurrence_fn recurrence_forward;
    recurrence_fn recurrence_backward;
} kernel_table;

extern const kernel_table kernels_f32_portable;
extern const kernel_table kernels_f64_portable;
#if HADAMRNN_HAVE_AVX2
extern const kernel_table kernels_f32_avx2;
/* kernels_f32_avx2 with an AVX-512 row transform and AVX-512 element-wise read-out and loss passes
 * (needs AVX-512 F, DQ and VL besides AVX2 + FMA). */
extern const kernel_table kernels_f32_avx512;
/* 96 · iterations float additions and nothing else: the add rate that the transform is measured
 * against. */
float add_probe_avx2(int64_t iterations);
#endif

#endif /* HADAMRNN_KERNELS_H */
