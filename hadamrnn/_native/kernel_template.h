/*
 * The kernels, written once for every build. A build defines, then includes this file:
 *
 *   REAL           float or double;
 *   KERNEL(name)   the name of a function of this build (e.g. name##_f32_avx2);
 *   KERNEL_TARGET  a function attribute selecting the instruction set, or nothing;
 *   FWHT_ROW       (optional) a fast row transform with the signature of fwht_row_reference;
 *                  without it the build uses fwht_row_reference itself;
 *   KERNEL_TABLE   the name of the kernel_table to define.
 *
 * Everything except FWHT_ROW is plain C. The same C compiled for AVX2 only gets wider vectors:
 * the loops below are element-wise, or reduce in an order written out explicitly, and the build
 * uses -ffp-contract=off (no fused multiply-adds are introduced), so every build performs the same
 * rounded operations in the same order.
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "parallel.h"

/* A reference that a build's faster version may replace entirely. */
#ifndef MAYBE_UNUSED
#if defined(__GNUC__) || defined(__clang__)
#define MAYBE_UNUSED __attribute__((unused))
#else
#define MAYBE_UNUSED
#endif
#endif

/* Below this many elements a thread costs more to start than the work it would take over. */
#define MIN_ELEMENTS_PER_WORKER ((int64_t)1 << 15)

/* Buffers that the time loops read and write start on a cache line, and each worker's scratch
 * takes whole lines, so that no row of n = 16k floats straddles two lines and no two workers write
 * to one line. */
#ifndef CACHE_LINE
#define CACHE_LINE 64
static void *aligned_buffer(size_t bytes)
{
    return aligned_alloc(CACHE_LINE, (bytes + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE);
}

static void *aligned_zeroed(size_t count, size_t size)
{
    void *buffer = aligned_buffer(count * size);
    if (buffer)
        memset(buffer, 0, count * size);
    return buffer;
}
#endif
/* `values` of REAL rounded up to whole cache lines. */
#define LINE_VALUES(values) \
    (((values) + CACHE_LINE / (int64_t)sizeof(REAL) - 1) / (CACHE_LINE / (int64_t)sizeof(REAL)) \
     * (CACHE_LINE / (int64_t)sizeof(REAL)))

/* ------------------------------------------------------------------------------------------------
 * The transform of one row
 * --------------------------------------------------------------------------------------------- */

/*
 * dst = gain ⊙ ((I_{n/m} ⊗ S_m) src), m a power of two, the readable reference (and the portable
 * path). `gain` may be NULL: no multiplication at all.
 *
 * Radix-2 butterflies (a, b) -> (a + b, a - b) at distances half = 1, 2, 4, ..., m/2, in that order
 * and each over the whole row; a block transform is just the first log2(m) stages. The order is
 * part of the contract: a fast FWHT_ROW performs these butterflies in this order, and multiplies
 * by the gain last, so that its result is bit-identical to this one. `src` may equal `dst`.
 */
KERNEL_TARGET MAYBE_UNUSED static void KERNEL(fwht_row_reference)(const REAL *src, REAL *dst, int64_t n,
                                                     int64_t block_size, const REAL *gain)
{
    if (dst != src)
        memcpy(dst, src, (size_t)n * sizeof(REAL));
    for (int64_t half = 1; half < block_size; half *= 2)
        for (int64_t start = 0; start < n; start += 2 * half)
            for (int64_t i = start; i < start + half; i++) {
                const REAL a = dst[i], b = dst[i + half];
                dst[i] = a + b;
                dst[i + half] = a - b;
            }
    if (gain)
        for (int64_t i = 0; i < n; i++)
            dst[i] *= gain[i];
}

#ifndef FWHT_ROW
#define FWHT_ROW KERNEL(fwht_row_reference)
#endif

/*
 * The base product of a block transform, m = r c: dst = gain ⊙ ((I_{n/m} ⊗ H_r ⊗ I_c) src).
 *
 * Within each block of m entries, output row a (the c entries a c ... a c + c - 1) is the sum of
 * the r rows of the block with the signs of row a of H_r: it starts as +row 0 or -row 0 and adds
 * or subtracts row b for b = 1, 2, ..., r - 1, in that order. Each term is the row times its sign,
 * ±1.0: that product is exact (a sign flip), so the sum is one rounded addition or subtraction per
 * term, as for the butterflies, and it vectorises as plainly as they do. Every operation is
 * element-wise over the c entries of a row, so every build computes the same values (compilers
 * vectorise such loops, never reorder the additions). The gain multiplies last; NULL means none.
 * `src` and `dst` must not overlap.
 *
 * Four output rows are formed side by side (r > 1 is a multiple of 4: a Hadamard order), so that
 * each input row is read once for four of them; this changes no operation of any output entry.
 */
#define BASE_ROWS_LOOP(OPERATION)                                                                         \
    for (int64_t i = 0; i < c; i++) {                                                                     \
        const REAL value = row[i];                                                                        \
        out0[i] OPERATION sign0 * value;                                                                  \
        out1[i] OPERATION sign1 * value;                                                                  \
        out2[i] OPERATION sign2 * value;                                                                  \
        out3[i] OPERATION sign3 * value;                                                                  \
    }

KERNEL_TARGET static void KERNEL(base_product)(const REAL *restrict src, REAL *restrict dst, int64_t n,
                                               int64_t block_size, int64_t base_order, const int8_t *restrict base,
                                               const REAL *restrict gain)
{
    const int64_t r = base_order, c = block_size / base_order;
    for (int64_t block = 0; block < n; block += block_size)
        for (int64_t a = 0; a < r; a += 4) {
            const int8_t *signs = base + a * r; /* rows a, a + 1, a + 2, a + 3 of H_r */
            REAL *restrict out0 = dst + block + a * c, *restrict out1 = out0 + c;
            REAL *restrict out2 = out1 + c, *restrict out3 = out2 + c;
            for (int64_t b = 0; b < r; b++) {
                const REAL *restrict row = src + block + b * c;
                const REAL sign0 = signs[b] > 0 ? 1 : -1, sign1 = signs[r + b] > 0 ? 1 : -1;
                const REAL sign2 = signs[2 * r + b] > 0 ? 1 : -1, sign3 = signs[3 * r + b] > 0 ? 1 : -1;
                if (b == 0)
                    BASE_ROWS_LOOP(=)
                else
                    BASE_ROWS_LOOP(+=)
            }
            if (gain) {
                const REAL *row_gain = gain + block + a * c;
                for (int64_t i = 0; i < 4 * c; i++)
                    out0[i] *= row_gain[i];
            }
        }
}

/*
 * The same base product for rows of c < 8 entries, too short to vectorise (m = 24 = 12 · 2, say),
 * through a transposed layout: entry j of block k moves to position j q + k (q = n/m blocks), so
 * that row b of every block forms one row of c q contiguous entries. base_product on those r rows
 * then performs, for every output entry, the very additions of base_product in the same order, so
 * the result is the same, bit for bit; it moves back times the gain. `src` (the butterflies'
 * output, scratch) is overwritten; `work` is n more values of scratch.
 */
#define SHORT_ROW 8 /* rows shorter than this take base_product_transposed */

KERNEL_TARGET static void KERNEL(base_product_transposed)(REAL *src, REAL *dst, REAL *work, int64_t n,
                                                          int64_t block_size, int64_t base_order, const int8_t *base,
                                                          const REAL *gain)
{
    const int64_t blocks = n / block_size;
    for (int64_t k = 0; k < blocks; k++)
        for (int64_t j = 0; j < block_size; j++)
            work[j * blocks + k] = src[k * block_size + j];
    KERNEL(base_product)(work, src, n, n, base_order, base, NULL); /* one block of r rows of n/r */
    for (int64_t k = 0; k < blocks; k++)
        for (int64_t j = 0; j < block_size; j++) {
            const REAL value = src[j * blocks + k];
            dst[k * block_size + j] = gain ? value * gain[k * block_size + j] : value;
        }
}

/*
 * dst = gain ⊙ ((I_{n/m} ⊗ H_r ⊗ S_c) src), m = r c: the row transform of every kernel. For r = 1
 * it is FWHT_ROW itself; otherwise the butterflies of S_c go into `scratch` (2n values) and the base
 * product from there into dst. `base` is the r x r matrix applied (H_r, or its transpose for the
 * transposed transform). `src` may equal `dst`.
 */
KERNEL_TARGET static inline void KERNEL(transform_row)(const REAL *src, REAL *dst, REAL *scratch, int64_t n,
                                                       int64_t block_size, int64_t base_order, const int8_t *base,
                                                       const REAL *gain)
{
    if (base_order == 1) {
        FWHT_ROW(src, dst, n, block_size, gain);
        return;
    }
    FWHT_ROW(src, scratch, n, block_size / base_order, NULL);
    if (block_size / base_order < SHORT_ROW && block_size < n)
        KERNEL(base_product_transposed)(scratch, dst, scratch + n, n, block_size, base_order, base, gain);
    else
        KERNEL(base_product)(scratch, dst, n, block_size, base_order, base, gain);
}

/* The transpose of an r x r matrix of signs, or NULL when out of memory. */
static int8_t *KERNEL(new_transpose)(const int8_t *matrix, int64_t order)
{
    int8_t *transposed = malloc((size_t)(order * order));
    if (transposed)
        for (int64_t a = 0; a < order; a++)
            for (int64_t b = 0; b < order; b++)
                transposed[b * order + a] = matrix[a * order + b];
    return transposed;
}

/* gain_i = u_i · scale (u_i = 1 without signs): with u = ±1 the product is exact, so scaling by
 * the gain once equals flipping the sign and scaling separately. Returns NULL when out of memory. */
static REAL *KERNEL(new_gain)(const REAL *signs, int64_t n, double scale)
{
    REAL *gain = aligned_buffer((size_t)n * sizeof(REAL));
    if (gain)
        for (int64_t i = 0; i < n; i++)
            gain[i] = signs ? signs[i] * (REAL)scale : (REAL)scale;
    return gain;
}

/* ------------------------------------------------------------------------------------------------
 * FWHT of many rows
 * --------------------------------------------------------------------------------------------- */

typedef struct {
    const REAL *src;
    REAL *dst;
    int64_t n, block_size, base_order;
    const int8_t *base; /* the r x r matrix applied (H_r or its transpose) */
    const REAL *gain;
    REAL *scratch; /* 2n values per worker when base_order > 1, else NULL */
} KERNEL(fwht_job);

KERNEL_TARGET static void KERNEL(fwht_rows_range)(void *context, int64_t begin, int64_t end, int worker)
{
    const KERNEL(fwht_job) *job = context;
    REAL *scratch = job->scratch ? job->scratch + (int64_t)worker * LINE_VALUES(2 * job->n) : NULL;
    for (int64_t row = begin; row < end; row++)
        KERNEL(transform_row)(job->src + row * job->n, job->dst + row * job->n, scratch, job->n, job->block_size,
                              job->base_order, job->base, job->gain);
}

static int KERNEL(fwht_rows)(const void *src, void *dst, int64_t rows, int64_t n, int64_t block_size,
                             int64_t base_order, const int8_t *base, const void *signs, double scale, int threads)
{
    REAL *gain = KERNEL(new_gain)(signs, n, scale);
    if (!gain)
        return KERNEL_OUT_OF_MEMORY;
    const int64_t rows_per_worker = (FWHT_MIN_ELEMENTS_PER_WORKER + n - 1) / n;
    const int workers = parallel_workers(rows, threads, rows_per_worker);
    REAL *scratch = NULL;
    if (base_order > 1 && !(scratch = aligned_buffer((size_t)(workers * LINE_VALUES(2 * n)) * sizeof(REAL)))) {
        free(gain);
        return KERNEL_OUT_OF_MEMORY;
    }
    KERNEL(fwht_job) job = {src, dst, n, block_size, base_order, base, gain, scratch};
    parallel_for(rows, workers, KERNEL(fwht_rows_range), &job);
    free(scratch);
    free(gain);
    return KERNEL_OK;
}

/* ------------------------------------------------------------------------------------------------
 * The recurrence
 *
 * Batch outer, time inner: one thread runs a whole sequence, so h_{t-1} (n values, 2 KiB at
 * n = 512) is still in L1 when step t transforms it, and the input projection is formed inside
 * the step instead of being materialised for all t.
 * --------------------------------------------------------------------------------------------- */

/* The problem with typed pointers, plus what the kernels derive from it. */
typedef struct {
    int64_t batch, steps, n, block_size, width;
    int64_t base_order;           /* r: each block is H_r ⊗ S_c, m = r c */
    const int8_t *base;           /* H_r (NULL for r = 1): W h = signed_gain ⊙ (H h) */
    int8_t *base_transposed;      /* H_rᵀ (NULL for r = 1): Wᵀ δ = plain_gain ⊙ Hᵀ(u ⊙ δ) */
    input_kind kind;
    int relu;
    const REAL *features;   /* INPUT_FEATURES: (B, T, d); INPUT_PROJECTED: (B, T, n) */
    const int64_t *tokens;  /* INPUT_TOKENS: (B, T) */
    const REAL *h0, *signs, *columns, *bias;
    REAL *states;
    int64_t checkpoint_interval;  /* 0: every state stored; k > 0: see recurrence_problem */
    int64_t anchor_interval;      /* backward, every state stored: see recurrence_problem */
    int64_t checkpoints;          /* slots per sequence with k > 0: ceil(T/k) */
    const REAL *inverse_signs;    /* 1/u, with k > 0: W^{-1} x = plain_gain ⊙ Hᵀ(x / u) */
    REAL *owned_inverse_signs;    /* its allocation, unless u = ±1 (then inverse_signs = signs) */
    int64_t readout_size;                 /* k, 0 without a fused read-out */
    const REAL *readout_weight, *readout_bias;
    REAL *logits;
    loss_kind loss;
    const int64_t *targets_ids;   /* LOSS_CROSS_ENTROPY: (B, T) */
    const REAL *targets_real;     /* LOSS_BINARY_CROSS_ENTROPY: (B, T, k) */
    int has_ignore_index;
    int64_t ignore_index;
    REAL loss_gradient;           /* backward: dL/d(Σ ℓ), in the precision of the kernels */
    double *partial_loss;         /* forward with a loss: (B) Σ_t ℓ_bt per sequence */
    REAL *normalizers;            /* LOSS_CROSS_ENTROPY: (B, T) log Σ_j exp(o_tj), forward writes, backward reads */
    REAL *loss_gradients;         /* with a loss, or NULL: (B, T, k) ∂ℓ_t/∂o_t, forward writes, backward reads */
    const REAL *grad_states, *grad_last, *grad_logits;
    REAL *grad_inputs, *grad_h0;

    REAL *token_drives; /* INPUT_TOKENS: (width, n), row v = U[:, v] + b */
    REAL *signed_gain;  /* u / sqrt(m):  W h = signed_gain ⊙ (H h) */
    REAL *plain_gain;   /* 1 / sqrt(m):  Wᵀ δ = plain_gain ⊙ Hᵀ(u ⊙ δ) */

    /* Backward: each sequence's own share of the batch reductions (NULL when not needed), so that
     * sums over the batch are formed in batch order whatever the number of threads. */
    REAL *partial_signs;    /* (B, n) */
    REAL *partial_bias;     /* (B, n) */
    REAL *partial_columns;  /* (B, width, n) */
    REAL *partial_readout_weight; /* (B, k, n) */
    REAL *partial_readout_bias;   /* (B, k) */
    REAL *scratch;          /* per worker: FORWARD_SCRATCH n (forward), BACKWARD_SCRATCH n (backward),
                               then LOSS_SCRATCH k */
} KERNEL(recurrence);

/* Per-worker scratch for the loss, after the rows of n: LOSS_SCRATCH k values (the logits of a
 * step, the exponentials, ∂L/∂o_t, and the logits of LOSS_LANES = 8 steps waiting for their
 * cross-entropy), then 8 more (their log-normalisers). */
#define LOSS_SCRATCH 11
#define LOSS_SCRATCH_VALUES(k) (LOSS_SCRATCH * (k) + 8)

/* Ask for a row that a step to come will read. The backward walks time downwards, which hardware
 * prefetchers follow poorly, and a step is too short (a fraction of a microsecond at n = 512) to
 * hide the wait for memory on its own: requested two steps early, the rows arrive in time. */
#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(address) __builtin_prefetch(address)
#else
#define PREFETCH(address) ((void)(address))
#endif
#define PREFETCH_STEPS_AHEAD 2

static inline void KERNEL(prefetch_row)(const REAL *row, int64_t n)
{
    for (int64_t i = 0; i < n; i += 64 / (int64_t)sizeof(REAL)) /* one request per 64-byte line */
        PREFETCH(row + i);
}

/* The row of the inputs that step t of sequence b reads. */
static inline int64_t KERNEL(step_index)(const KERNEL(recurrence) *r, int64_t b, int64_t t)
{
    return b * r->steps + t;
}

/*
 * The drive U x_t + b of step t, formed before it is added to W h_{t-1}: the association of the
 * reference, W h + F.linear(x, U, b). For one feature, one-hot tokens and projected inputs the
 * native drive is then bit-identical to the reference's, so that an exactly-zero ReLU
 * pre-activation (they do happen, e.g. when the drive repeats) is zero in both.
 * Returns the drive row: a row of the inputs, of the token table, or `scratch`.
 */
KERNEL_TARGET static inline const REAL *KERNEL(drive)(const KERNEL(recurrence) *r, REAL *scratch, int64_t step)
{
    const int64_t n = r->n;
    if (r->kind == INPUT_TOKENS)
        return r->token_drives + r->tokens[step] * n;
    if (r->kind == INPUT_PROJECTED) {
        const REAL *projected = r->features + step * n;
        if (!r->bias)
            return projected;
        for (int64_t i = 0; i < n; i++)
            scratch[i] = projected[i] + r->bias[i];
        return scratch;
    }
    const REAL *x = r->features + step * r->width;
    if (r->bias)
        memcpy(scratch, r->bias, (size_t)n * sizeof(REAL));
    else
        memset(scratch, 0, (size_t)n * sizeof(REAL));
    for (int64_t j = 0; j < r->width; j++) {
        /* A zero feature adds exactly nothing (for finite U): skipping it makes a one-hot input
         * cost one column instead of d. */
        if (x[j] == 0)
            continue;
        const REAL xj = x[j], *column = r->columns + j * n;
        for (int64_t i = 0; i < n; i++)
            scratch[i] += column[i] * xj;
    }
    return scratch;
}

/*
 * The features of step `step` when at most one is nonzero (one-hot inputs, and width 1): the index
 * of the nonzero one, -1 when every feature is 0, -2 when two or more are not (and for inputs that
 * are not features). With one nonzero feature x_j the drive is b + U[:, j] x_j, which a pass can
 * form as it uses it, with the very operations of KERNEL(drive) (which skips zero features), and
 * the gradient of U touches the one column j.
 */
static inline int64_t KERNEL(active_feature)(const KERNEL(recurrence) *r, int64_t step)
{
    if (r->kind != INPUT_FEATURES)
        return -2;
    const REAL *x = r->features + step * r->width;
    int64_t active = -1;
    for (int64_t j = 0; j < r->width; j++)
        if (x[j] != 0) { /* NaN too, as in KERNEL(drive) */
            if (active >= 0)
                return -2;
            active = j;
        }
    return active;
}

/* Rows of n values of per-worker scratch. Forward: the drive, ReLU(h_t), two for the transform
 * (base orders r > 1), two for h_t and h_{t-1} when only checkpoints are stored. Backward: see
 * backward_sequences. */
#define FORWARD_SCRATCH 6
#define BACKWARD_SCRATCH 11
/* The backward's scratch per worker: BACKWARD_SCRATCH rows, the loss's values, and with a read-out
 * the READOUT_STEPS states and gradients whose ∂V terms wait. */
#define BACKWARD_SCRATCH_VALUES(n, k) \
    LINE_VALUES(BACKWARD_SCRATCH * (n) + LOSS_SCRATCH_VALUES(k) + ((k) ? READOUT_STEPS * ((n) + (k)) : 0))
/* The forward's scratch per worker: FORWARD_SCRATCH rows and the loss's values. */
#define FORWARD_SCRATCH_VALUES(n, k) LINE_VALUES(FORWARD_SCRATCH * (n) + LOSS_SCRATCH_VALUES(k))

/*
 * Σ_i a_i b_i with 32 running sums (sum k takes the i ≡ k mod 32) combined in a fixed tree. The
 * order of the additions is written out, so any vector width computes the same value; 32 sums are
 * four independent AVX2 accumulators, enough to hide the latency of the additions.
 */
#define DOT_LANES 32
KERNEL_TARGET static inline REAL KERNEL(dot_reference)(const REAL *a, const REAL *b, int64_t n)
{
    REAL lane[DOT_LANES] = {0};
    int64_t i = 0;
    for (; i + DOT_LANES <= n; i += DOT_LANES)
        for (int k = 0; k < DOT_LANES; k++)
            lane[k] += a[i + k] * b[i + k];
    for (int k = 0; i < n; i++, k++)
        lane[k] += a[i] * b[i];
    for (int width = DOT_LANES / 2; width >= 1; width /= 2) /* pairwise: lane[k] += lane[k + width] */
        for (int k = 0; k < width; k++)
            lane[k] += lane[k + width];
    return lane[0];
}

/* A build may bring a faster dot product (DOT) that adds in exactly this order. */
#ifndef DOT
#define DOT KERNEL(dot_reference)
#endif

/*
 * o = V ReLU(h) + c, the readable reference of the read-out (and the portable path). Output j sums
 * its products in READOUT_LANES = 8 running sums (sum l takes the i ≡ l mod 8, in increasing i),
 * combined as ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)), and adds c_j last. The order is
 * part of the contract: a fast READOUT (one pass over ReLU(h_t) with the running sums of several
 * outputs in registers) adds in exactly this order. `rectified` is scratch of n values.
 */
#define READOUT_LANES 8
KERNEL_TARGET MAYBE_UNUSED static void KERNEL(readout_reference)(const REAL *weight, const REAL *bias, int64_t outputs, int64_t n,
                                                    const REAL *state, REAL *rectified, REAL *logits)
{
    for (int64_t i = 0; i < n; i++) /* as torch.relu: negatives to 0, NaN kept */
        rectified[i] = state[i] < 0 ? 0 : state[i];
    for (int64_t j = 0; j < outputs; j++) {
        const REAL *row = weight + j * n;
        REAL lane[READOUT_LANES];
        for (int l = 0; l < READOUT_LANES; l++) /* an initialiser would compile to `rep stos` */
            lane[l] = 0;
        for (int64_t i = 0; i < n; i++)
            lane[i % READOUT_LANES] += row[i] * rectified[i];
        const REAL sum = ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
        logits[j] = sum + (bias ? bias[j] : 0);
    }
}

/* A build may bring a faster read-out (READOUT) that adds in exactly this order. */
#ifndef READOUT
#define READOUT KERNEL(readout_reference)
#endif

KERNEL_TARGET static inline void KERNEL(readout)(const KERNEL(recurrence) *r, const REAL *state, REAL *rectified,
                                                 REAL *logits)
{
    READOUT(r->readout_weight, r->readout_bias, r->readout_size, r->n, state, rectified, logits);
}

/* ------------------------------------------------------------------------------------------------
 * The fused loss of one step, from its k logits
 *
 * Its exponential and logarithms, in float, are polynomials written out here rather than libm's
 * expf and logf: a library call per logit cost more than the whole read-out, and plain additions
 * and multiplications (no fused multiply-adds: -ffp-contract=off) give every build the same
 * values. They are accurate to a few units in the last place. The float64 build calls libm.
 * --------------------------------------------------------------------------------------------- */

static inline float KERNEL(float_of_bits)(uint32_t bits)
{
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

static inline uint32_t KERNEL(bits_of_float)(float value)
{
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}

/*
 * e^x for x <= 0 (NaN gives NaN). float: x = q ln 2 + s with q = round(x / ln 2) (by adding and
 * subtracting 1.5 · 2^23, which leaves q in the low bits of the sum) and |s| <= ln(2)/2, then
 * e^s by its Taylor polynomial of degree 7 (truncation below 6e-9), times 2^q formed from its bits.
 * x below -87 counts as -87 (e^-87 = 1.6e-38, the smallest power that keeps 2^q normal): only
 * differences to the largest logit, or -|o|, are exponentiated here, so such a term is negligible
 * against the 1 of the largest.
 */
KERNEL_TARGET static inline REAL KERNEL(exp_nonpositive)(REAL x)
{
    if (sizeof(REAL) == sizeof(double))
        return (REAL)exp((double)x);
    const float clamped = (float)x < -87.0f ? -87.0f : (float)x; /* NaN stays NaN */
    const float shifter = 12582912.0f;                           /* 1.5 · 2^23 */
    const float shifted = clamped * 1.44269504088896341f + shifter;
    const float q = shifted - shifter;
    const uint32_t power = (KERNEL(bits_of_float)(shifted) - KERNEL(bits_of_float)(shifter) + 127u) << 23;
    const float s = (clamped - q * 0.693145751953125f) - q * 1.428606765330187045e-06f; /* ln 2, hi + lo */
    float p = 1.98412698412698413e-04f;
    p = p * s + 1.38888888888888894e-03f;
    p = p * s + 8.33333333333333322e-03f;
    p = p * s + 4.16666666666666644e-02f;
    p = p * s + 1.66666666666666657e-01f;
    p = p * s + 0.5f;
    p = p * s + 1.0f;
    p = p * s + 1.0f;
    return p * KERNEL(float_of_bits)(power);
}

/* out_j = e^(values_j - shift) for j < count, the readable reference; a build may bring a faster
 * EXP_ROW that computes exp_nonpositive's operations on several values at once. */
KERNEL_TARGET MAYBE_UNUSED static void KERNEL(exp_row_reference)(const REAL *values, int64_t count, REAL shift, REAL *out)
{
    for (int64_t j = 0; j < count; j++)
        out[j] = KERNEL(exp_nonpositive)(values[j] - shift);
}

#ifndef EXP_ROW
#define EXP_ROW KERNEL(exp_row_reference)
#endif

/* 2 atanh(u) = log((1 + u) / (1 - u)) by its series (float only): to u^9 for |u| <= 0.172
 * (truncation below 3e-9 relative), or to u^17 for |u| <= 1/3 (below 2e-9). */
static inline float KERNEL(twice_atanh)(float u, const int long_series)
{
    const float u2 = u * u;
    float p = 1.0f / 9;
    if (long_series) {
        p = 1.0f / 17;
        p = p * u2 + 1.0f / 15;
        p = p * u2 + 1.0f / 13;
        p = p * u2 + 1.0f / 11;
        p = p * u2 + 1.0f / 9;
    }
    p = p * u2 + 1.0f / 7;
    p = p * u2 + 1.0f / 5;
    p = p * u2 + 1.0f / 3;
    p = p * u2 + 1.0f;
    return 2 * u * p;
}

/* log(s) for s >= 1 (a sum of exponentials whose largest term is 1; NaN gives NaN). float:
 * s = 2^e f with f in [sqrt(1/2), sqrt(2)), log f = 2 atanh((f - 1)/(f + 1)). */
KERNEL_TARGET static inline REAL KERNEL(log_at_least_one)(REAL s)
{
    if (sizeof(REAL) == sizeof(double))
        return (REAL)log((double)s);
    const float value = (float)s;
    const uint32_t bits = KERNEL(bits_of_float)(value);
    /* the exponent e, taken relative to sqrt(1/2) so that f lands in [sqrt(1/2), sqrt(2)) */
    const int32_t exponent = (int32_t)((bits - 0x3f3504f3u) >> 23); /* 0x3f3504f3 = sqrt(1/2) */
    const float f = KERNEL(float_of_bits)(bits - ((uint32_t)exponent << 23));
    const float e = (float)exponent;
    const float result = e * 0.693145751953125f + (KERNEL(twice_atanh)((f - 1) / (f + 1), 0) + e * 1.428606765330187045e-06f);
    return value == value ? result : value;
}

/* log(1 + x) for 0 <= x <= 1: 2 atanh(x / (2 + x)), exact in relative terms for small x (float). */
KERNEL_TARGET static inline REAL KERNEL(log1p_unit)(REAL x)
{
    if (sizeof(REAL) == sizeof(double))
        return (REAL)log1p((double)x);
    return KERNEL(twice_atanh)((float)x / (2 + (float)x), 1);
}

/*
 * Cross-entropy, forward: the log-normalisers L = log Σ_j exp(o_j) of `count` <= LOSS_LANES
 * consecutive steps, whose logits wait in `block` (block[j LOSS_LANES + l] is logit j of the l-th
 * step), each formed as m + log Σ_j exp(o_j - m) with m = max_j o_j (taken with `>` in j order, the
 * sum from 0 in j order). This is the readable reference; a build may bring a faster
 * CROSS_ENTROPY_BLOCK that computes the same operations for all lanes at once.
 */
#define LOSS_LANES 8
KERNEL_TARGET MAYBE_UNUSED static void KERNEL(cross_entropy_block_reference)(const REAL *block, int count, int64_t outputs,
                                                                REAL *normalizers)
{
    for (int l = 0; l < count; l++) {
        REAL largest = block[l];
        for (int64_t j = 1; j < outputs; j++)
            largest = block[j * LOSS_LANES + l] > largest ? block[j * LOSS_LANES + l] : largest;
        REAL sum = 0;
        for (int64_t j = 0; j < outputs; j++)
            sum += KERNEL(exp_nonpositive)(block[j * LOSS_LANES + l] - largest);
        normalizers[l] = largest + KERNEL(log_at_least_one)(sum);
    }
}

#ifndef CROSS_ENTROPY_BLOCK
#define CROSS_ENTROPY_BLOCK KERNEL(cross_entropy_block_reference)
#endif

/*
 * ∂ℓ/∂o of the `count` steps in `block` whose log-normalisers are normalizers[0 ...]: row l of
 * `rows` (k values) is softmax(o) - e_y of the l-th step, with softmax(o)_j = e^(o_j - L) and y =
 * targets[l], each entry formed by exactly the operations of cross_entropy_gradient (which the
 * backward runs without them). A step whose target is ignored gets a row that nothing reads. The
 * readable reference; a build may bring a faster CROSS_ENTROPY_GRADIENT_BLOCK that computes the same
 * operations for all lanes at once.
 */
KERNEL_TARGET MAYBE_UNUSED static void KERNEL(cross_entropy_gradient_block_reference)(
    const REAL *block, int count, int64_t outputs, const REAL *normalizers, const int64_t *targets, REAL *rows)
{
    for (int l = 0; l < count; l++)
        for (int64_t j = 0; j < outputs; j++) {
            const REAL softmax = KERNEL(exp_nonpositive)(block[j * LOSS_LANES + l] - normalizers[l]);
            rows[l * outputs + j] = j == targets[l] ? softmax - 1 : softmax;
        }
}

#ifndef CROSS_ENTROPY_GRADIENT_BLOCK
#define CROSS_ENTROPY_GRADIENT_BLOCK KERNEL(cross_entropy_gradient_block_reference)
#endif

/* Whether step `step` counts: its cross-entropy target is not the ignore index. */
static inline int KERNEL(counted)(const KERNEL(recurrence) *r, int64_t step)
{
    return r->loss != LOSS_CROSS_ENTROPY || !r->has_ignore_index || r->targets_ids[step] != r->ignore_index;
}

/*
 * The cross-entropy of the `count` steps in `block`, the first of them `first`: their
 * log-normalisers go to normalizers[first ...] (the backward's softmax), their ∂ℓ/∂o to
 * loss_gradients[first ...] when it is kept, and the loss ℓ = L - o_y of each counted step is
 * added to *total in step order.
 */
KERNEL_TARGET static inline void KERNEL(cross_entropy_steps)(const KERNEL(recurrence) *r, const REAL *block, int count,
                                                             int64_t first, REAL *lanes, double *total)
{
    CROSS_ENTROPY_BLOCK(block, count, r->readout_size, lanes);
    if (r->loss_gradients)
        CROSS_ENTROPY_GRADIENT_BLOCK(block, count, r->readout_size, lanes, r->targets_ids + first,
                                     r->loss_gradients + first * r->readout_size);
    for (int l = 0; l < count; l++) {
        r->normalizers[first + l] = lanes[l];
        if (KERNEL(counted)(r, first + l))
            *total += (double)(lanes[l] - block[r->targets_ids[first + l] * LOSS_LANES + l]);
    }
}

/* Cross-entropy, backward: grad_j = gain (softmax(o)_j - [j = y]), softmax(o)_j = exp(o_j - L) with
 * the forward's log-normaliser L of the step. `work` is k values of scratch. */
KERNEL_TARGET static inline void KERNEL(cross_entropy_gradient)(const KERNEL(recurrence) *r, const REAL *logits,
                                                                int64_t step, REAL *work, REAL *grad, REAL gain)
{
    const int64_t k = r->readout_size, target = r->targets_ids[step];
    EXP_ROW(logits, k, r->normalizers[step], work);
    for (int64_t j = 0; j < k; j++)
        grad[j] = gain * work[j];
    grad[target] = gain * (work[target] - 1);
}

/*
 * Binary cross-entropy with logits of one step, summed over its k outputs, returned; with `grad`
 * non-NULL also grad_j = gain (sigmoid(o_j) - y_j). `work` is k values of scratch.
 */
KERNEL_TARGET static inline REAL KERNEL(binary_cross_entropy_step)(const KERNEL(recurrence) *r, const REAL *logits,
                                                                   int64_t step, REAL *work, REAL *grad, REAL gain)
{
    const int64_t k = r->readout_size;
    const REAL *y = r->targets_real + step * k;
    REAL total = 0;
    for (int64_t j = 0; j < k; j++) {
        const REAL o = logits[j];
        const REAL e = KERNEL(exp_nonpositive)(o < 0 ? o : -o); /* exp(-|o|) */
        work[j] = e;
        total += ((o > 0 ? o : 0) - o * y[j]) + KERNEL(log1p_unit)(e);
    }
    if (grad)
        for (int64_t j = 0; j < k; j++) {
            const REAL e = work[j], sigmoid = logits[j] >= 0 ? 1 / (1 + e) : e / (1 + e);
            grad[j] = gain * (sigmoid - y[j]);
        }
    return total;
}

/* With a checkpoint interval k: the slot of the checkpoint array that holds h_{t+1} (t counted from
 * 0 as in the loops), or -1 when that state is not stored. */
static inline int64_t KERNEL(checkpoint_slot)(const KERNEL(recurrence) *r, int64_t t)
{
    const int64_t k = r->checkpoint_interval;
    if (t % k == k - 1)
        return t / k;
    return t == r->steps - 1 ? r->checkpoints - 1 : -1;
}

/* The backward's anchor h_{t+1} of sequence b (t counted from 0): the checkpoint, or with an
 * anchor interval k the stored state itself when t + 1 is a multiple of k or T; NULL when the
 * backward recomputes that state instead. */
static inline const REAL *KERNEL(anchor)(const KERNEL(recurrence) *r, int64_t b, int64_t t)
{
    if (r->checkpoint_interval) {
        const int64_t slot = KERNEL(checkpoint_slot)(r, t);
        return slot >= 0 ? r->states + (b * r->checkpoints + slot) * r->n : NULL;
    }
    const int64_t k = r->anchor_interval;
    return t % k == k - 1 || t == r->steps - 1 ? r->states + (b * r->steps + t) * r->n : NULL;
}

KERNEL_TARGET static void KERNEL(forward_sequences)(void *context, int64_t begin, int64_t end, int worker)
{
    const KERNEL(recurrence) *r = context;
    const int64_t n = r->n;
    REAL *scratch = r->scratch + (int64_t)worker * FORWARD_SCRATCH_VALUES(n, r->readout_size);
    REAL *rectified = scratch + n;
    REAL *transform_scratch = scratch + 2 * n;
    REAL *ring = scratch + 4 * n; /* with checkpoints: two rows, h_t and h_{t-1} */
    const int64_t outputs = r->readout_size;
    REAL *step_logits = scratch + FORWARD_SCRATCH * n, *loss_work = step_logits + outputs;
    REAL *block = step_logits + 3 * outputs, *lanes = step_logits + LOSS_SCRATCH * outputs;
    for (int64_t b = begin; b < end; b++) {
        const REAL *previous = r->h0 + b * n;
        double sequence_loss = 0;
        int waiting = 0; /* steps whose logits wait in `block` */
        for (int64_t t = 0; t < r->steps; t++) {
            const int64_t step = KERNEL(step_index)(r, b, t);
            REAL *state = r->checkpoint_interval ? ring + (t & 1) * n : r->states + step * n;
            KERNEL(transform_row)(previous, state, transform_scratch, n, r->block_size, r->base_order, r->base,
                                  r->signed_gain); /* W h_{t-1} */
            const int64_t active = r->bias ? KERNEL(active_feature)(r, step) : -2;
            if (active >= 0) {
                /* the drive of one feature, bias + U x, formed and added in one pass (without a
                 * bias, KERNEL(drive)'s 0 + U x would turn a -0 into +0) */
                const REAL x0 = r->features[step * r->width + active];
                const REAL *restrict bias = r->bias, *restrict column = r->columns + active * n;
                for (int64_t i = 0; i < n; i++)
                    state[i] += bias[i] + column[i] * x0;
            } else {
                const REAL *drive = KERNEL(drive)(r, scratch, step);
                for (int64_t i = 0; i < n; i++)
                    state[i] += drive[i];
            }
            if (r->relu) /* as torch.relu: negatives to 0, NaN kept */
                for (int64_t i = 0; i < n; i++)
                    state[i] = state[i] < 0 ? 0 : state[i];
            if (r->loss == LOSS_CROSS_ENTROPY) { /* scored LOSS_LANES steps at a time, lane by lane */
                KERNEL(readout)(r, state, rectified, step_logits);
                for (int64_t j = 0; j < outputs; j++)
                    block[j * LOSS_LANES + waiting] = step_logits[j];
                if (++waiting == LOSS_LANES || t == r->steps - 1) {
                    KERNEL(cross_entropy_steps)(r, block, waiting, step - waiting + 1, lanes, &sequence_loss);
                    waiting = 0;
                }
            } else if (r->loss == LOSS_BINARY_CROSS_ENTROPY) {
                KERNEL(readout)(r, state, rectified, step_logits);
                /* ∂ℓ/∂o times 1 when kept: 1 · x = x exactly, so the backward's gain times it is
                 * what the backward would form itself */
                REAL *kept = r->loss_gradients ? r->loss_gradients + step * outputs : NULL;
                sequence_loss += KERNEL(binary_cross_entropy_step)(r, step_logits, step, loss_work, kept, 1);
            } else if (r->readout_size) {
                KERNEL(readout)(r, state, rectified, r->logits + step * r->readout_size);
            }
            if (r->checkpoint_interval) {
                const int64_t slot = KERNEL(checkpoint_slot)(r, t);
                if (slot >= 0)
                    memcpy(r->states + (b * r->checkpoints + slot) * n, state, (size_t)n * sizeof(REAL));
            }
            previous = state;
        }
        if (r->loss)
            r->partial_loss[b] = sequence_loss;
    }
}


/*
 * The fused read-out's share of the backward at one step, with g = ∂L/∂o_t:
 *   outside += [h_t > 0] ⊙ Vᵀg,  ∂V += g ReLU(h_t)ᵀ,  ∂c += g.
 * Vᵀg sums over k = 0, 1, ... from zero, one chunk of at most READOUT_CHUNK columns at a time, so
 * that a chunk's running sums stay in registers across k instead of being stored and reloaded for
 * every output; the additions are the same, in the same order, as one pass per output over the
 * whole row. ∂V waits (readout_weight_gradient, several steps at a time): this pass writes
 * ReLU(h_t) to `rectified_out` (when not NULL) for it.
 */
#define READOUT_CHUNK 32
KERNEL_TARGET static inline void KERNEL(readout_backward_columns)(const REAL *weight, int64_t outputs, int64_t n,
                                                                  const REAL *state, const REAL *grad_logits,
                                                                  REAL *outside, REAL *rectified_out, int64_t start,
                                                                  const int width)
{
    REAL sum[READOUT_CHUNK];
    for (int c = 0; c < width; c++) /* an initialiser would compile to `rep stos` */
        sum[c] = 0;
    for (int64_t k = 0; k < outputs; k++) {
        const REAL gk = grad_logits[k], *row = weight + k * n + start;
        for (int c = 0; c < width; c++)
            sum[c] += row[c] * gk;
    }
    for (int c = 0; c < width; c++) /* torch's threshold_backward: through where h_t > 0 */
        outside[start + c] += state[start + c] > 0 ? sum[c] : 0;
    if (rectified_out)
        for (int c = 0; c < width; c++)
            rectified_out[start + c] = state[start + c] < 0 ? 0 : state[start + c]; /* as torch.relu */
}

/* The readable reference of the read-out's backward step (and the portable path). */
KERNEL_TARGET MAYBE_UNUSED static void KERNEL(readout_backward_reference)(const REAL *weight, int64_t outputs,
                                                                          int64_t n, const REAL *state,
                                                                          const REAL *grad_logits, REAL *outside,
                                                                          REAL *rectified_out)
{
    int64_t start = 0;
    for (; start + READOUT_CHUNK <= n; start += READOUT_CHUNK) /* a constant width: registers */
        KERNEL(readout_backward_columns)(weight, outputs, n, state, grad_logits, outside, rectified_out, start,
                                         READOUT_CHUNK);
    if (start < n) /* the rest, shorter than a chunk */
        KERNEL(readout_backward_columns)(weight, outputs, n, state, grad_logits, outside, rectified_out, start,
                                         (int)(n - start));
}

/* A build may bring a faster READOUT_BACKWARD that performs the same operations in the same order
 * for every entry: each entry of Vᵀg sums over k = 0, 1, ... from zero. */
#ifndef READOUT_BACKWARD
#define READOUT_BACKWARD KERNEL(readout_backward_reference)
#endif

/*
 * ∂V += Σ_s g_s ReLU(h_s)ᵀ over `count` steps that waited: ReLU(h_s) is rectified[s n ...], g_s
 * is grads[s k ...], s = 0, 1, ... in the order of the backward's steps, so that each entry of ∂V
 * takes its terms in that order, as with one update per step. The readable reference; a build may bring
 * a faster READOUT_WEIGHT_GRADIENT (the entries' running sums in registers across the steps) that
 * adds the same terms in the same order.
 */
#define READOUT_STEPS 16 /* steps whose ∂V terms wait to be added together */
KERNEL_TARGET MAYBE_UNUSED static void KERNEL(readout_weight_gradient_reference)(REAL *partial_weight, int64_t outputs,
                                                                                 int64_t n, const REAL *rectified,
                                                                                 const REAL *grads, int count)
{
    for (int s = 0; s < count; s++)
        for (int64_t k = 0; k < outputs; k++) {
            const REAL gk = grads[s * outputs + k], *relu = rectified + s * n;
            REAL *row = partial_weight + k * n;
            for (int64_t i = 0; i < n; i++)
                row[i] += gk * relu[i];
        }
}

#ifndef READOUT_WEIGHT_GRADIENT
#define READOUT_WEIGHT_GRADIENT KERNEL(readout_weight_gradient_reference)
#endif

/* ∂c += g and outside += [h_t > 0] ⊙ Vᵀg of one step; ∂V waits (readout_weight_gradient), its
 * ReLU(h_t) written to `rectified_out` unless NULL. */
KERNEL_TARGET static inline void KERNEL(readout_backward)(const KERNEL(recurrence) *r, const REAL *state,
                                                          const REAL *grad_logits, REAL *outside, REAL *partial_bias,
                                                          REAL *rectified_out)
{
    if (partial_bias)
        for (int64_t k = 0; k < r->readout_size; k++)
            partial_bias[k] += grad_logits[k];
    READOUT_BACKWARD(r->readout_weight, r->readout_size, r->n, state, grad_logits, outside, rectified_out);
}

/*
 * The element-wise work of one backward step of the linear recurrence when both the signs and
 * the bias want gradients (training), in one pass over the row instead of four:
 *   δ = g + carry (carry alone without g),  u ⊙ δ,  ∂u += δ ⊙ transformed,  ∂b += δ,
 *   and, with a column, ∂U[:, j] += δ x_j.
 * Each entry takes the very operations of the separate loops, so the results are the same bit
 * for bit; the flags are constants at each call site, so every variant is a plain vector loop
 * (a loop with optional outputs tested at run time does not vectorise).
 */
KERNEL_TARGET __attribute__((always_inline)) static inline void
KERNEL(adjoint_step)(int64_t n, const REAL *restrict incoming, const REAL *restrict carry, const REAL *restrict signs,
                     const REAL *restrict transformed, REAL *restrict delta, REAL *restrict signed_delta,
                     REAL *restrict partial_signs, REAL *restrict partial_bias, REAL *restrict column, REAL xj,
                     const int has_incoming, const int has_column, const int keeps_delta)
{
    for (int64_t i = 0; i < n; i++) {
        const REAL d = has_incoming ? incoming[i] + carry[i] : carry[i];
        if (keeps_delta)
            delta[i] = d;
        signed_delta[i] = d * signs[i];
        partial_signs[i] += d * transformed[i];
        partial_bias[i] += d;
        if (has_column)
            column[i] += d * xj;
    }
}

/*
 * The adjoint recurrence of one sequence. With δ_t = ∂L/∂(pre-activation at step t):
 *
 *   δ_t = mask_t ⊙ (g_t + Wᵀ δ_{t+1}),   Wᵀ δ = S(u ⊙ δ) / sqrt(m)   (S is symmetric),
 *
 * with mask_t = 0 where h_t <= 0 for the ReLU recurrence (torch's convention at 0), 1 otherwise, and
 * δ_{T+1} = 0. g_t, the gradient reaching h_t from outside, sums what is given of grad_states,
 * grad_last (at t = T) and, through the fused read-out, Vᵀ(∂L/∂o_t) ⊙ [h_t > 0].
 * Then ∂L/∂u_i = Σ_t δ_t,i (S h_{t-1})_i / sqrt(m), ∂L/∂U = Σ_t δ_t x_tᵀ, ∂L/∂b = Σ_t δ_t,
 * ∂L/∂x_t = Uᵀ δ_t, ∂L/∂h_0 = Wᵀ δ_1, ∂L/∂V = Σ_t (∂L/∂o_t) ReLU(h_t)ᵀ and ∂L/∂c = Σ_t ∂L/∂o_t.
 * S h_{t-1} is recomputed from the stored states rather than stored by the forward: one more
 * transform per step, no more memory. (Reading W h_{t-1} off h_t - drive_t instead would save the
 * transform but not the memory traffic, and loses all relative accuracy where W h_{t-1} is small
 * against the drive.) With checkpoints, a state recomputed from the next one comes from
 * (h_t - drive_t)/u = S h_{t-1}/sqrt(m) itself, which the sign gradient then reads directly: the
 * recomputed h_{t-1} carries that subtraction's rounding anyway.
 */
KERNEL_TARGET static void KERNEL(backward_sequences)(void *context, int64_t begin, int64_t end, int worker)
{
    const KERNEL(recurrence) *r = context;
    const int64_t n = r->n, width = r->width, outputs = r->readout_size;
    REAL *delta = r->scratch + (int64_t)worker * BACKWARD_SCRATCH_VALUES(n, r->readout_size);
    REAL *signed_delta = delta + n;             /* u ⊙ δ_t */
    REAL *carry = delta + 2 * n;                /* Wᵀ δ_{t+1} */
    REAL *transformed_previous = delta + 3 * n; /* H h_{t-1} / sqrt(m) */
    REAL *outside = delta + 4 * n;              /* g_t */
    REAL *transform_scratch = delta + 5 * n;    /* two rows */
    REAL *ring = delta + 7 * n;                 /* with checkpoints: two rows of recomputed states */
    REAL *drive_scratch = delta + 9 * n;
    REAL *difference = delta + 10 * n;          /* (h_t - drive_t) / u */
    REAL *step_logits = delta + BACKWARD_SCRATCH * n; /* with a loss: o_t again, then ∂L/∂o_t */
    REAL *loss_work = step_logits + outputs, *step_grad = loss_work + outputs;
    REAL *waiting_states = step_logits + LOSS_SCRATCH_VALUES(outputs); /* READOUT_STEPS rows of ReLU(h) */
    REAL *waiting_grads = waiting_states + READOUT_STEPS * n;           /* READOUT_STEPS rows of k */
    /* > 0: walk back by recomputing the states, re-anchored on the checkpoints or stored states */
    const int64_t interval = r->checkpoint_interval ? r->checkpoint_interval : r->anchor_interval;

    for (int64_t b = begin; b < end; b++) {
        REAL *partial_signs = r->partial_signs ? r->partial_signs + b * n : NULL;
        REAL *partial_bias = r->partial_bias ? r->partial_bias + b * n : NULL;
        REAL *partial_columns = r->partial_columns ? r->partial_columns + b * width * n : NULL;
        REAL *partial_readout_weight = r->partial_readout_weight ? r->partial_readout_weight + b * outputs * n : NULL;
        REAL *partial_readout_bias = r->partial_readout_bias ? r->partial_readout_bias + b * outputs : NULL;
        memset(carry, 0, (size_t)n * sizeof(REAL));
        int waiting = 0; /* steps whose ∂V terms wait in waiting_states and waiting_grads */
        /* With checkpoints, the state of the step (h_T first: the last slot). */
        const REAL *recomputed = interval ? KERNEL(anchor)(r, b, r->steps - 1) : NULL;
        /* The training step of the linear recurrence in one pass (below). */
        const int fused = !r->relu && partial_signs && partial_bias;

        for (int64_t t = r->steps - 1; t >= 0; t--) {
            const int64_t step = KERNEL(step_index)(r, b, t);
            /* the step's one nonzero feature, for the recomputation's drive and the fused column */
            const int64_t active =
                (interval && r->bias) || (fused && partial_columns) ? KERNEL(active_feature)(r, step) : -2;
            const REAL *grad = r->grad_states ? r->grad_states + step * n : NULL;
            const REAL *last = t == r->steps - 1 && r->grad_last ? r->grad_last + b * n : NULL;
            const REAL *state, *previous;
            /* H h_{t-1} / sqrt(m) where h_{t-1} was recomputed from it (below), else NULL */
            const REAL *transformed = NULL;
            if (!interval) {
                state = r->states + step * n;
                previous = t > 0 ? state - n : r->h0 + b * n;
            } else {
                state = recomputed;
                const REAL *anchor = t > 0 ? KERNEL(anchor)(r, b, t - 1) : NULL;
                if (t == 0) {
                    previous = r->h0 + b * n;
                } else if (anchor) { /* re-anchor on the stored state */
                    previous = anchor;
                } else {
                    /* h_{t-1} = W^{-1}(h_t - drive_t) = Hᵀ((h_t - drive_t) / u) / sqrt(m), into the
                     * ring row that does not hold h_t. */
                    REAL *target = state == ring ? ring + n : ring;
                    if (r->bias && active >= 0) {
                        /* the drive of one feature, bias + U x, formed inside the same pass */
                        const REAL x0 = r->features[step * width + active];
                        const REAL *restrict bias = r->bias, *restrict column = r->columns + active * n;
                        for (int64_t i = 0; i < n; i++)
                            difference[i] = (state[i] - (bias[i] + column[i] * x0)) * r->inverse_signs[i];
                    } else {
                        const REAL *drive = KERNEL(drive)(r, drive_scratch, step);
                        for (int64_t i = 0; i < n; i++)
                            difference[i] = (state[i] - drive[i]) * r->inverse_signs[i];
                    }
                    KERNEL(transform_row)(difference, target, transform_scratch, n, r->block_size, r->base_order,
                                          r->base_transposed, r->plain_gain);
                    previous = target;
                    /* H h_{t-1}/sqrt(m) = H Hᵀ(difference)/m = difference in exact arithmetic (H Hᵀ = m I,
                     * block by block): the sign gradient reads it here instead of transforming the
                     * recomputed h_{t-1} again, which could only add the rounding of two transforms to
                     * it. At an exact (stored) h_{t-1} the transform stays: there h_t - drive_t would
                     * carry the rounding of the forward's addition, relative to the drive. */
                    transformed = difference;
                }
                recomputed = previous;
            }
            if (!interval && t >= PREFETCH_STEPS_AHEAD + 1) {
                if (grad)
                    KERNEL(prefetch_row)(grad - PREFETCH_STEPS_AHEAD * n, n);
                KERNEL(prefetch_row)(previous - PREFETCH_STEPS_AHEAD * n, n);
            }

            /* g_t: the given grad_states row itself when it is the only incoming gradient (no
             * copy on the common path); otherwise summed into `outside`, by separate loops, not
             * `grad ? grad[i] : 0`: compilers vectorise that into masked loads from NULL, which
             * are correct but take a microcode assist each. */
            const REAL *grad_logits = r->grad_logits ? r->grad_logits + step * outputs : NULL;
            if (r->loss && KERNEL(counted)(r, step)) {
                if (r->loss_gradients) { /* ∂L/∂o_t from the forward's ∂ℓ_t/∂o_t */
                    const REAL *kept = r->loss_gradients + step * outputs;
                    for (int64_t j = 0; j < outputs; j++)
                        step_grad[j] = r->loss_gradient * kept[j];
                } else { /* from o_t, formed again from h_t (transform_scratch: free here) */
                    KERNEL(readout)(r, state, transform_scratch, step_logits);
                    if (r->loss == LOSS_CROSS_ENTROPY)
                        KERNEL(cross_entropy_gradient)(r, step_logits, step, loss_work, step_grad, r->loss_gradient);
                    else
                        KERNEL(binary_cross_entropy_step)(r, step_logits, step, loss_work, step_grad,
                                                          r->loss_gradient);
                }
                grad_logits = step_grad;
            } else if (r->loss) {
                grad_logits = NULL; /* an ignored step sends nothing back */
            }
            const int reads_out = outputs && grad_logits;
            const REAL *incoming = outside;
            if (grad && !last && !reads_out)
                incoming = grad;
            else if (grad)
                memcpy(outside, grad, (size_t)n * sizeof(REAL));
            else if (!last && !reads_out)
                incoming = NULL; /* nothing from outside at this step: δ_t = Wᵀ δ_{t+1} */
            else
                memset(outside, 0, (size_t)n * sizeof(REAL));
            if (last)
                for (int64_t i = 0; i < n; i++)
                    outside[i] += last[i];
            if (reads_out)
            {
                KERNEL(readout_backward)(r, state, grad_logits, outside, partial_readout_bias,
                                         partial_readout_weight ? waiting_states + waiting * n : NULL);
                if (partial_readout_weight) {
                    memcpy(waiting_grads + waiting * outputs, grad_logits, (size_t)outputs * sizeof(REAL));
                    if (++waiting == READOUT_STEPS) {
                        READOUT_WEIGHT_GRADIENT(partial_readout_weight, outputs, n, waiting_states, waiting_grads,
                                                waiting);
                        waiting = 0;
                    }
                }
            }

            if (partial_signs && !transformed) {
                KERNEL(transform_row)(previous, transformed_previous, transform_scratch, n, r->block_size,
                                      r->base_order, r->base, r->plain_gain);
                transformed = transformed_previous;
            }
            /* The training step of the linear recurrence in one pass (with the one column of U
             * that a single feature or a token id touches); every other case in separate loops. */
            REAL *fused_column = NULL;
            REAL fused_x = 1;
            /* at most one nonzero feature (zero features are skipped: they add exactly nothing, as
             * in the forward), or a token id, whose column takes δ times 1: exactly δ */
            const int fuses_column = fused && partial_columns && (r->kind == INPUT_TOKENS || active >= -1);
            if (fuses_column && r->kind == INPUT_TOKENS) {
                fused_column = partial_columns + r->tokens[step] * n;
            } else if (fuses_column && active >= 0) {
                fused_column = partial_columns + active * n;
                fused_x = r->features[step * width + active];
            }
            /* δ_t itself is stored only for what reads it below (the one-pass step keeps the rows a
             * step touches within L1 otherwise) */
            const int keeps_delta = r->grad_inputs || (partial_columns && !fuses_column);
            if (fused) {
#define ADJOINT_STEP(INCOMING, COLUMN, KEEPS)                                                                    \
    KERNEL(adjoint_step)(n, incoming, carry, r->signs, transformed, delta, signed_delta, partial_signs, partial_bias, \
                         fused_column, fused_x, INCOMING, COLUMN, KEEPS)
                switch ((incoming != NULL) | (fused_column != NULL) << 1 | keeps_delta << 2) {
                case 0: ADJOINT_STEP(0, 0, 0); break;
                case 1: ADJOINT_STEP(1, 0, 0); break;
                case 2: ADJOINT_STEP(0, 1, 0); break;
                case 3: ADJOINT_STEP(1, 1, 0); break;
                case 4: ADJOINT_STEP(0, 0, 1); break;
                case 5: ADJOINT_STEP(1, 0, 1); break;
                case 6: ADJOINT_STEP(0, 1, 1); break;
                default: ADJOINT_STEP(1, 1, 1); break;
                }
#undef ADJOINT_STEP
            } else {
                if (incoming)
                    for (int64_t i = 0; i < n; i++)
                        delta[i] = incoming[i] + carry[i];
                else
                    memcpy(delta, carry, (size_t)n * sizeof(REAL));
                for (int64_t i = 0; i < n; i++) {
                    REAL d = delta[i];
                    if (r->relu && state[i] <= 0) /* torch's threshold_backward */
                        d = 0;
                    delta[i] = d;
                    signed_delta[i] = d * r->signs[i];
                }
                if (partial_signs)
                    for (int64_t i = 0; i < n; i++)
                        partial_signs[i] += delta[i] * transformed[i];
                if (partial_bias)
                    for (int64_t i = 0; i < n; i++)
                        partial_bias[i] += delta[i];
            }

            if (r->kind == INPUT_FEATURES) {
                const REAL *x = r->features + step * width;
                if (partial_columns && !fuses_column)
                    for (int64_t j = 0; j < width; j++) {
                        if (x[j] == 0) /* adds exactly nothing, as in the forward */
                            continue;
                        const REAL xj = x[j];
                        REAL *column = partial_columns + j * n;
                        for (int64_t i = 0; i < n; i++)
                            column[i] += delta[i] * xj;
                    }
                if (r->grad_inputs)
                    for (int64_t j = 0; j < width; j++)
                        r->grad_inputs[step * width + j] = DOT(r->columns + j * n, delta, n);
            } else if (r->kind == INPUT_TOKENS) {
                if (partial_columns && !fuses_column) {
                    REAL *column = partial_columns + r->tokens[step] * n;
                    for (int64_t i = 0; i < n; i++)
                        column[i] += delta[i];
                }
            } else if (r->grad_inputs) {
                memcpy(r->grad_inputs + step * n, delta, (size_t)n * sizeof(REAL));
            }

            if (t > 0 || r->grad_h0)
                KERNEL(transform_row)(signed_delta, carry, transform_scratch, n, r->block_size, r->base_order,
                                      r->base_transposed, r->plain_gain); /* Wᵀ δ_t */
        }
        if (waiting)
            READOUT_WEIGHT_GRADIENT(partial_readout_weight, outputs, n, waiting_states, waiting_grads, waiting);
        if (r->grad_h0)
            memcpy(r->grad_h0 + b * n, carry, (size_t)n * sizeof(REAL));
    }
}

/* Sums over the batch: total[e] = Σ_b partial[b][e], added in batch order b = 0, 1, ... */
typedef struct {
    const REAL *partial;
    REAL *total;
    int64_t batch, length;
} KERNEL(batch_sum);

KERNEL_TARGET static void KERNEL(batch_sum_range)(void *context, int64_t begin, int64_t end, int worker)
{
    const KERNEL(batch_sum) *s = context;
    (void)worker;
    memcpy(s->total + begin, s->partial + begin, (size_t)(end - begin) * sizeof(REAL));
    for (int64_t b = 1; b < s->batch; b++) {
        const REAL *partial = s->partial + b * s->length;
        for (int64_t e = begin; e < end; e++)
            s->total[e] += partial[e];
    }
}

static void KERNEL(sum_over_batch)(const REAL *partial, REAL *total, int64_t batch, int64_t length, int threads)
{
    if (batch == 0) {
        memset(total, 0, (size_t)length * sizeof(REAL));
        return;
    }
    KERNEL(batch_sum) s = {partial, total, batch, length};
    const int workers = parallel_workers(length, threads, MIN_ELEMENTS_PER_WORKER / batch);
    parallel_for(length, workers, KERNEL(batch_sum_range), &s);
}

static void KERNEL(release)(KERNEL(recurrence) *r);

/* Typed view of `problem`, with the gains (and H_rᵀ) allocated; KERNEL_OUT_OF_MEMORY leaves nothing
 * allocated. */
static int KERNEL(prepare)(const recurrence_problem *problem, KERNEL(recurrence) *r)
{
    const double scale = problem->scale;
    *r = (KERNEL(recurrence)){
        .batch = problem->batch,
        .steps = problem->steps,
        .n = problem->hidden,
        .block_size = problem->block_size,
        .base_order = problem->base_order,
        .base = problem->base,
        .width = problem->input_width,
        .kind = problem->kind,
        .relu = problem->relu,
        .features = problem->kind == INPUT_TOKENS ? NULL : problem->inputs,
        .tokens = problem->kind == INPUT_TOKENS ? problem->inputs : NULL,
        .h0 = problem->h0,
        .signs = problem->signs,
        .columns = problem->columns,
        .bias = problem->bias,
        .states = problem->states,
        .checkpoint_interval = problem->checkpoint_interval,
        .anchor_interval = problem->checkpoint_interval ? 0 : problem->anchor_interval,
        .checkpoints = problem->checkpoint_interval
                           ? (problem->steps + problem->checkpoint_interval - 1) / problem->checkpoint_interval
                           : 0,
        .readout_size = problem->readout_size,
        .readout_weight = problem->readout_weight,
        .readout_bias = problem->readout_bias,
        .logits = problem->logits,
        .loss = problem->readout_size ? problem->loss : LOSS_NONE,
        .targets_ids = problem->loss == LOSS_CROSS_ENTROPY ? problem->targets : NULL,
        .targets_real = problem->loss == LOSS_BINARY_CROSS_ENTROPY ? problem->targets : NULL,
        .has_ignore_index = problem->has_ignore_index,
        .ignore_index = problem->ignore_index,
        .loss_gradient = (REAL)problem->loss_gradient,
        .normalizers = problem->normalizers,
        .loss_gradients = problem->readout_size && problem->loss ? problem->loss_gradients : NULL,
        .grad_states = problem->grad_states,
        .grad_last = problem->grad_last,
        .grad_logits = problem->grad_logits,
        .grad_inputs = problem->grad_inputs,
        .grad_h0 = problem->grad_h0,
    };
    r->signed_gain = KERNEL(new_gain)(r->signs, r->n, scale);
    r->plain_gain = KERNEL(new_gain)(NULL, r->n, scale);
    const int64_t order = r->base_order;
    if (order > 1)
        r->base_transposed = KERNEL(new_transpose)(r->base, order);
    if (r->checkpoint_interval || r->anchor_interval) {
        int unit = 1; /* u = ±1: 1/u = u exactly, and the step reads u itself (one row less in L1) */
        for (int64_t i = 0; i < r->n; i++)
            unit &= r->signs[i] == 1 || r->signs[i] == -1;
        if (unit) {
            r->inverse_signs = r->signs;
        } else if ((r->owned_inverse_signs = aligned_buffer((size_t)r->n * sizeof(REAL)))) {
            for (int64_t i = 0; i < r->n; i++) /* any nonzero u inverts */
                r->owned_inverse_signs[i] = 1 / r->signs[i];
            r->inverse_signs = r->owned_inverse_signs;
        }
    }
    if (!r->signed_gain || !r->plain_gain || (order > 1 && !r->base_transposed)
        || ((r->checkpoint_interval || r->anchor_interval) && !r->inverse_signs)) {
        KERNEL(release)(r); /* everything else is still NULL */
        return KERNEL_OUT_OF_MEMORY;
    }
    return KERNEL_OK;
}

/* INPUT_TOKENS: the table of drives U[:, v] + b, one row per token id. */
static int KERNEL(prepare_token_drives)(KERNEL(recurrence) *r)
{
    if (r->kind != INPUT_TOKENS)
        return KERNEL_OK;
    const int64_t n = r->n;
    r->token_drives = aligned_buffer((size_t)(r->width * n) * sizeof(REAL));
    if (!r->token_drives)
        return KERNEL_OUT_OF_MEMORY;
    for (int64_t v = 0; v < r->width; v++)
        for (int64_t i = 0; i < n; i++)
            r->token_drives[v * n + i] = r->columns[v * n + i] + (r->bias ? r->bias[i] : 0);
    return KERNEL_OK;
}

static void KERNEL(release)(KERNEL(recurrence) *r)
{
    free(r->base_transposed);
    free(r->token_drives);
    free(r->signed_gain);
    free(r->plain_gain);
    free(r->owned_inverse_signs);
    free(r->partial_signs);
    free(r->partial_bias);
    free(r->partial_columns);
    free(r->partial_readout_weight);
    free(r->partial_readout_bias);
    free(r->partial_loss);
    free(r->scratch);
}

static int KERNEL(recurrence_forward)(const recurrence_problem *problem, int threads)
{
    KERNEL(recurrence) r;
    if (KERNEL(prepare)(problem, &r) != KERNEL_OK)
        return KERNEL_OUT_OF_MEMORY;
    const int64_t n = r.n;
    const int workers = parallel_workers(r.batch, threads, 1);
    r.scratch = aligned_buffer((size_t)(workers * FORWARD_SCRATCH_VALUES(n, r.readout_size)) * sizeof(REAL));
    if (r.loss)
        r.partial_loss = aligned_zeroed((size_t)r.batch, sizeof(double));
    if (!r.scratch || (r.loss && !r.partial_loss) || KERNEL(prepare_token_drives)(&r) != KERNEL_OK) {
        KERNEL(release)(&r);
        return KERNEL_OUT_OF_MEMORY;
    }

    parallel_for(r.batch, workers, KERNEL(forward_sequences), &r);
    if (r.loss) { /* in batch order, whatever the number of threads */
        double total = 0;
        for (int64_t b = 0; b < r.batch; b++)
            total += r.partial_loss[b];
        *problem->loss_total = total;
    }
    KERNEL(release)(&r);
    return KERNEL_OK;
}

static int KERNEL(recurrence_backward)(const recurrence_problem *problem, int threads)
{
    KERNEL(recurrence) r;
    if (KERNEL(prepare)(problem, &r) != KERNEL_OK)
        return KERNEL_OUT_OF_MEMORY;
    const int64_t n = r.n, batch = r.batch, width = r.width;
    const int workers = parallel_workers(batch, threads, 1);
    const int wants_columns = problem->grad_columns && r.kind != INPUT_PROJECTED;
    /* zeroed: the partial sums start at zero, and sequences of length 0 leave them there. */
    if (problem->grad_signs)
        r.partial_signs = aligned_zeroed((size_t)(batch * n), sizeof(REAL));
    if (problem->grad_bias)
        r.partial_bias = aligned_zeroed((size_t)(batch * n), sizeof(REAL));
    if (wants_columns)
        r.partial_columns = aligned_zeroed((size_t)(batch * width * n), sizeof(REAL));
    const int64_t outputs = r.readout_size;
    const int wants_readout_weight = outputs && problem->grad_readout_weight;
    const int wants_readout_bias = outputs && problem->grad_readout_bias;
    if (wants_readout_weight)
        r.partial_readout_weight = aligned_zeroed((size_t)(batch * outputs * n), sizeof(REAL));
    if (wants_readout_bias)
        r.partial_readout_bias = aligned_zeroed((size_t)(batch * outputs), sizeof(REAL));
    r.scratch = aligned_buffer((size_t)(workers * BACKWARD_SCRATCH_VALUES(n, outputs)) * sizeof(REAL));
    if ((problem->grad_signs && !r.partial_signs) || (problem->grad_bias && !r.partial_bias)
        || (wants_columns && !r.partial_columns) || (wants_readout_weight && !r.partial_readout_weight)
        || (wants_readout_bias && !r.partial_readout_bias) || !r.scratch
        /* recomputing states from checkpoints forms the drives again */
        || ((r.checkpoint_interval || r.anchor_interval) && KERNEL(prepare_token_drives)(&r) != KERNEL_OK)) {
        KERNEL(release)(&r);
        return KERNEL_OUT_OF_MEMORY;
    }

    parallel_for(batch, workers, KERNEL(backward_sequences), &r);

    if (problem->grad_signs)
        KERNEL(sum_over_batch)(r.partial_signs, problem->grad_signs, batch, n, threads);
    if (problem->grad_bias)
        KERNEL(sum_over_batch)(r.partial_bias, problem->grad_bias, batch, n, threads);
    if (wants_columns)
        KERNEL(sum_over_batch)(r.partial_columns, problem->grad_columns, batch, width * n, threads);
    if (wants_readout_weight)
        KERNEL(sum_over_batch)(r.partial_readout_weight, problem->grad_readout_weight, batch, outputs * n, threads);
    if (wants_readout_bias)
        KERNEL(sum_over_batch)(r.partial_readout_bias, problem->grad_readout_bias, batch, outputs, threads);
    KERNEL(release)(&r);
    return KERNEL_OK;
}

const kernel_table KERNEL_TABLE = {
    KERNEL(fwht_rows),
    KERNEL(recurrence_forward),
    KERNEL(recurrence_backward),
};
