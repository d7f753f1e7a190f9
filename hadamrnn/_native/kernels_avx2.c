/*
 * The float32 AVX2 + FMA build. Compiled for any x86-64 CPU (no -march flag): only the functions
 * carry target("avx2,fma"), and module.c calls them after __builtin_cpu_supports says the CPU
 * has both.
 *
 * The row transform (after performance.md, "C with AVX2"): the first three butterfly stages
 * (distances 1, 2 and 4) happen inside one 8-float register, then radix-8 passes over the row,
 * each doing three more stages on eight registers loaded at distance `half`, while the row sits in
 * L1. The gain (sign flip and scale) is applied as the last pass stores.
 */
#include "kernels.h"

#if HADAMRNN_HAVE_AVX2

#include <immintrin.h>

/* Cases 1 to 11 of a switch on a count of outputs, each calling FUNCTION(arguments..., count)
 * with the count as a constant: every count is then a loop of its own, its running sums in
 * registers. */
#define CONSTANT_COUNT_CASES(FUNCTION, ...)                                                          \
    case 1: FUNCTION(__VA_ARGS__, 1); break;                                                         \
    case 2: FUNCTION(__VA_ARGS__, 2); break;                                                         \
    case 3: FUNCTION(__VA_ARGS__, 3); break;                                                         \
    case 4: FUNCTION(__VA_ARGS__, 4); break;                                                         \
    case 5: FUNCTION(__VA_ARGS__, 5); break;                                                         \
    case 6: FUNCTION(__VA_ARGS__, 6); break;                                                         \
    case 7: FUNCTION(__VA_ARGS__, 7); break;                                                         \
    case 8: FUNCTION(__VA_ARGS__, 8); break;                                                         \
    case 9: FUNCTION(__VA_ARGS__, 9); break;                                                         \
    case 10: FUNCTION(__VA_ARGS__, 10); break;                                                       \
    case 11: FUNCTION(__VA_ARGS__, 11); break;

#define REAL float
#define KERNEL(name) name##_f32_avx2
#define KERNEL_TARGET __attribute__((target("avx2,fma")))
#define KERNEL_TABLE kernels_f32_avx2
#define FWHT_ROW fwht_row_avx2
#define DOT dot_avx2
#define READOUT readout_avx2
#define EXP_ROW exp_row_avx2
#define CROSS_ENTROPY_BLOCK cross_entropy_block_avx2
#define CROSS_ENTROPY_GRADIENT_BLOCK cross_entropy_gradient_block_avx2
#define READOUT_BACKWARD readout_backward_avx2
#define READOUT_WEIGHT_GRADIENT readout_weight_gradient_avx2

KERNEL_TARGET static void fwht_row_avx2(const float *src, float *dst, int64_t n, int64_t block_size,
                                        const float *gain);
KERNEL_TARGET static inline float dot_avx2(const float *a, const float *b, int64_t n);
KERNEL_TARGET static void exp_row_avx2(const float *values, int64_t count, float shift, float *out);
KERNEL_TARGET static void cross_entropy_block_avx2(const float *block, int count, int64_t outputs, float *normalizers);
KERNEL_TARGET static void cross_entropy_gradient_block_avx2(const float *block, int count, int64_t outputs,
                                                            const float *normalizers, const int64_t *targets,
                                                            float *rows);
KERNEL_TARGET static void readout_backward_avx2(const float *weight, int64_t outputs, int64_t n, const float *state,
                                                const float *grad_logits, float *outside, float *rectified_out);
KERNEL_TARGET static void readout_weight_gradient_avx2(float *partial_weight, int64_t outputs, int64_t n,
                                                       const float *rectified, const float *grads, int count);
KERNEL_TARGET static void readout_avx2(const float *weight, const float *bias, int64_t outputs, int64_t n,
                                       const float *state, float *rectified, float *logits);

#include "kernel_template.h"

/*
 * One butterfly stage at distance 1, 2 or 4 inside a register of 8 consecutive elements. Lane i
 * needs x_i + x_{i+d} in the lower lane of each pair and x_{i-d} - x_i in the upper one; with the
 * partner lanes swapped into place, both are fma(x, ±1, partner). The product by ±1 is exact, so
 * each lane is one rounded a ± b: the same value as the scalar butterfly.
 */
KERNEL_TARGET static inline __m256 butterflies_at_distance_1(__m256 x)
{
    const __m256 sign = _mm256_setr_ps(1, -1, 1, -1, 1, -1, 1, -1);
    return _mm256_fmadd_ps(x, sign, _mm256_permute_ps(x, _MM_SHUFFLE(2, 3, 0, 1)));
}

KERNEL_TARGET static inline __m256 butterflies_at_distance_2(__m256 x)
{
    const __m256 sign = _mm256_setr_ps(1, 1, -1, -1, 1, 1, -1, -1);
    return _mm256_fmadd_ps(x, sign, _mm256_permute_ps(x, _MM_SHUFFLE(1, 0, 3, 2)));
}

KERNEL_TARGET static inline __m256 butterflies_at_distance_4(__m256 x)
{
    const __m256 sign = _mm256_setr_ps(1, 1, 1, 1, -1, -1, -1, -1);
    return _mm256_fmadd_ps(x, sign, _mm256_permute2f128_ps(x, x, 0x01));
}

/* The first `stages` (0 to 3) butterfly stages, all inside register x. */
KERNEL_TARGET __attribute__((always_inline)) static inline __m256
butterflies_in_register(__m256 x, const int stages)
{
    if (stages >= 1)
        x = butterflies_at_distance_1(x);
    if (stages >= 2)
        x = butterflies_at_distance_2(x);
    if (stages >= 3)
        x = butterflies_at_distance_4(x);
    return x;
}

KERNEL_TARGET static inline void butterfly(__m256 *a, __m256 *b)
{
    const __m256 sum = _mm256_add_ps(*a, *b);
    *b = _mm256_sub_ps(*a, *b);
    *a = sum;
}

/* Registers v[0 .. 2^stages - 1] hold the elements at offsets k·half of one group: the stage at
 * distance s·half pairs v[k] with v[k + s], exactly the pairs of the scalar stage. */
KERNEL_TARGET __attribute__((always_inline)) static inline void
butterflies_across_registers(__m256 *v, const int stages)
{
    const int count = 1 << stages;
    for (int distance = 1; distance < count; distance *= 2)
        for (int k = 0; k < count; k++)
            if (!(k & distance))
                butterfly(&v[k], &v[k + distance]);
}

/*
 * The first pass, src -> dst: `in_register` stages (distances 1, 2, 4) inside each register, then
 * `across` stages (distances 8, 16, 32) across the 2^across consecutive registers that hold 8·2^across
 * contiguous elements; the gain is applied when this pass is the last. Fusing the two saves one
 * sweep over the row. always_inline with constant stage counts: each call site is its own loop.
 */
KERNEL_TARGET __attribute__((always_inline)) static inline void
first_pass(const float *src, float *dst, int64_t n, const int in_register, const int across, const float *gain)
{
    const int count = 1 << across;
    for (int64_t i = 0; i < n; i += 8 * count) {
        __m256 v[8];
        for (int k = 0; k < count; k++)
            v[k] = butterflies_in_register(_mm256_loadu_ps(src + i + 8 * k), in_register);
        butterflies_across_registers(v, across);
        for (int k = 0; k < count; k++) {
            if (gain)
                v[k] = _mm256_mul_ps(v[k], _mm256_loadu_ps(gain + i + 8 * k));
            _mm256_storeu_ps(dst + i + 8 * k, v[k]);
        }
    }
}

/* A later pass, in place: `stages` (1 to 3) stages at distances half, 2·half, 4·half (half >= 64),
 * on 2^stages registers loaded at distance half. */
KERNEL_TARGET __attribute__((always_inline)) static inline void
radix_pass(float *x, int64_t n, int64_t half, const int stages, const float *gain)
{
    const int count = 1 << stages;
    for (int64_t group = 0; group < n; group += (int64_t)count * half)
        for (int64_t i = group; i < group + half; i += 8) {
            __m256 v[8];
            for (int k = 0; k < count; k++)
                v[k] = _mm256_loadu_ps(x + i + k * half);
            butterflies_across_registers(v, stages);
            for (int k = 0; k < count; k++) {
                if (gain)
                    v[k] = _mm256_mul_ps(v[k], _mm256_loadu_ps(gain + i + k * half));
                _mm256_storeu_ps(x + i + k * half, v[k]);
            }
        }
}

KERNEL_TARGET static void fwht_row_avx2(const float *src, float *dst, int64_t n, int64_t block_size,
                                        const float *gain)
{
    if (n % 8) { /* shorter than one register, or not whole registers (n = 12, 20, ...: base orders) */
        fwht_row_reference_f32_avx2(src, dst, n, block_size, gain);
        return;
    }
    const int stages = __builtin_ctzll((unsigned long long)block_size);
    const int in_register = stages < 3 ? stages : 3;
    const int across = stages - in_register < 3 ? stages - in_register : 3;
    int remaining = stages - in_register - across;

    /* Constant stage counts at every call, so that each pass compiles to its own loop. */
    const float *first_gain = remaining == 0 ? gain : NULL;
    switch (in_register + across) {
    case 0: first_pass(src, dst, n, 0, 0, first_gain); break;
    case 1: first_pass(src, dst, n, 1, 0, first_gain); break;
    case 2: first_pass(src, dst, n, 2, 0, first_gain); break;
    case 3: first_pass(src, dst, n, 3, 0, first_gain); break;
    case 4: first_pass(src, dst, n, 3, 1, first_gain); break;
    case 5: first_pass(src, dst, n, 3, 2, first_gain); break;
    default: first_pass(src, dst, n, 3, 3, first_gain); break;
    }
    for (int64_t half = (int64_t)8 << across; remaining > 0;) {
        const int pass_stages = remaining < 3 ? remaining : 3;
        remaining -= pass_stages;
        const float *pass_gain = remaining == 0 ? gain : NULL;
        switch (pass_stages) {
        case 1: radix_pass(dst, n, half, 1, pass_gain); break;
        case 2: radix_pass(dst, n, half, 2, pass_gain); break;
        default: radix_pass(dst, n, half, 3, pass_gain); break;
        }
        half <<= pass_stages;
    }
}

#endif /* HADAMRNN_HAVE_AVX2 */

#if HADAMRNN_HAVE_AVX2
/*
 * The dot product of kernel_template.h in registers: lane k of the reference (the i ≡ k mod 32)
 * is lane k % 8 of accumulator k / 8, so the four accumulators take the same products in the same
 * order, the tail of 8-element chunks included, and the tree below is the reference's tree
 * (lane[k] += lane[k + 16], then + 8, + 4, + 2, + 1). Products and sums are separate operations,
 * as in the portable build. Lengths that are not a multiple of 8 use the reference.
 */
KERNEL_TARGET static inline float dot_avx2(const float *a, const float *b, int64_t n)
{
    if (n % 8)
        return dot_reference_f32_avx2(a, b, n);
    __m256 lane0 = _mm256_setzero_ps(), lane1 = _mm256_setzero_ps();
    __m256 lane2 = _mm256_setzero_ps(), lane3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        lane0 = _mm256_add_ps(lane0, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
        lane1 = _mm256_add_ps(lane1, _mm256_mul_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8)));
        lane2 = _mm256_add_ps(lane2, _mm256_mul_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16)));
        lane3 = _mm256_add_ps(lane3, _mm256_mul_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24)));
    }
    if (i + 8 <= n)
        lane0 = _mm256_add_ps(lane0, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    if (i + 16 <= n)
        lane1 = _mm256_add_ps(lane1, _mm256_mul_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8)));
    if (i + 24 <= n)
        lane2 = _mm256_add_ps(lane2, _mm256_mul_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16)));
    lane0 = _mm256_add_ps(lane0, lane2); /* width 16 */
    lane1 = _mm256_add_ps(lane1, lane3);
    __m256 sum = _mm256_add_ps(lane0, lane1); /* width 8 */
    __m128 half = _mm_add_ps(_mm256_castps256_ps128(sum), _mm256_extractf128_ps(sum, 1)); /* width 4 */
    half = _mm_add_ps(half, _mm_movehl_ps(half, half));                                    /* width 2 */
    half = _mm_add_ss(half, _mm_shuffle_ps(half, half, 1));                                /* width 1 */
    return _mm_cvtss_f32(half);
}
#endif

#if HADAMRNN_HAVE_AVX2
/*
 * The read-out of kernel_template.h (readout_reference) in one pass over ReLU(h): the running sums
 * of `count` outputs sit in `count` registers (lane l of output j's register is its sum l), each
 * 8-element chunk of ReLU(h) is formed once and multiplied into all of them, so every output adds
 * the reference's products in the reference's order. The tree ((s0 + s1) + (s2 + s3)) + ((s4 + s5)
 * + (s6 + s7)) is two rounds of hadd (pairs, then pairs of pairs, for 8 outputs at once: a + b
 * equals b + a exactly) and one addition of the 128-bit halves. always_inline with a constant
 * count: each count is its own loop with the sums in registers.
 */
#define READOUT_GROUP 12 /* 12 sums, the chunk and a product: 14 of the 16 registers */

KERNEL_TARGET static inline __m256 rectified_chunk(const float *state)
{
    /* max(0, x) = (0 > x) ? 0 : x: negatives to 0, NaN kept, as torch.relu */
    return _mm256_max_ps(_mm256_setzero_ps(), _mm256_loadu_ps(state));
}

/* Lanes j of the result: the tree of sums[j], for 8 registers of 8 running sums. */
KERNEL_TARGET static inline __m256 reduce_eight(const __m256 *sums)
{
    const __m256 pairs0 = _mm256_hadd_ps(sums[0], sums[1]), pairs1 = _mm256_hadd_ps(sums[2], sums[3]);
    const __m256 pairs2 = _mm256_hadd_ps(sums[4], sums[5]), pairs3 = _mm256_hadd_ps(sums[6], sums[7]);
    /* lane j (j < 4) of quads0: (s0 + s1) + (s2 + s3) of output j, lane 4 + j: (s4 + s5) + (s6 + s7) */
    const __m256 quads0 = _mm256_hadd_ps(pairs0, pairs1), quads1 = _mm256_hadd_ps(pairs2, pairs3);
    const __m256 low = _mm256_permute2f128_ps(quads0, quads1, 0x20), high = _mm256_permute2f128_ps(quads0, quads1, 0x31);
    return _mm256_add_ps(low, high);
}

KERNEL_TARGET __attribute__((always_inline)) static inline void
readout_group(const float *weight, const float *bias, int64_t n, const float *state, float *logits, const int count)
{
    __m256 sums[16];
    for (int j = 0; j < count; j++)
        sums[j] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n; i += 8) {
        const __m256 chunk = rectified_chunk(state + i);
        for (int j = 0; j < count; j++)
            sums[j] = _mm256_add_ps(sums[j], _mm256_mul_ps(_mm256_loadu_ps(weight + j * n + i), chunk));
    }
    for (int j = count; j < 16; j++)
        sums[j] = _mm256_setzero_ps();
    for (int j = 0; j < count; j += 8) {
        float lanes[8];
        _mm256_storeu_ps(lanes, reduce_eight(sums + j));
        for (int l = 0; l < 8 && j + l < count; l++) /* c_j last, as the reference (0 without c) */
            logits[j + l] = lanes[l] + (bias ? bias[j + l] : 0);
    }
}

KERNEL_TARGET static void readout_avx2(const float *weight, const float *bias, int64_t outputs, int64_t n,
                                       const float *state, float *rectified, float *logits)
{
    if (n % 8) { /* rows that are not whole registers: the reference */
        readout_reference_f32_avx2(weight, bias, outputs, n, state, rectified, logits);
        return;
    }
    for (int64_t first = 0; first < outputs; first += READOUT_GROUP) {
        const int64_t left = outputs - first;
        const float *rows = weight + first * n, *group_bias = bias ? bias + first : NULL;
        float *out = logits + first;
        switch (left < READOUT_GROUP ? left : READOUT_GROUP) {
        CONSTANT_COUNT_CASES(readout_group, rows, group_bias, n, state, out)
        default: readout_group(rows, group_bias, n, state, out, 12); break;
        }
    }
}
#endif

#if HADAMRNN_HAVE_AVX2
/*
 * exp_nonpositive of kernel_template.h on a register of floats: the same operations, lane by lane
 * (the clamp max(-87, x) is (-87 > x) ? -87 : x, which keeps NaN as the scalar comparison does).
 * Written once for both register widths: MM is the intrinsics' prefix (_mm256, _mm512) and SI the
 * integer register's suffix (si256, si512).
 */
#define DEFINE_EXP_NONPOSITIVE(NAME, TARGET, VEC, VECI, MM, SI)                                                \
    TARGET static inline VEC NAME(VEC x)                                                                    \
    {                                                                                                       \
        const VEC clamped = MM##_max_ps(MM##_set1_ps(-87.0f), x);                                           \
        const VEC shifter = MM##_set1_ps(12582912.0f);                                                      \
        const VEC shifted = MM##_add_ps(MM##_mul_ps(clamped, MM##_set1_ps(1.44269504088896341f)), shifter); \
        const VEC q = MM##_sub_ps(shifted, shifter);                                                        \
        const VECI power = MM##_slli_epi32(                                                                 \
            MM##_add_epi32(MM##_sub_epi32(MM##_castps_##SI(shifted), MM##_castps_##SI(shifter)),            \
                           MM##_set1_epi32(127)),                                                           \
            23);                                                                                            \
        const VEC s = MM##_sub_ps(MM##_sub_ps(clamped, MM##_mul_ps(q, MM##_set1_ps(0.693145751953125f))),   \
                                  MM##_mul_ps(q, MM##_set1_ps(1.428606765330187045e-06f)));                 \
        VEC p = MM##_set1_ps(1.98412698412698413e-04f);                                                     \
        p = MM##_add_ps(MM##_mul_ps(p, s), MM##_set1_ps(1.38888888888888894e-03f));                         \
        p = MM##_add_ps(MM##_mul_ps(p, s), MM##_set1_ps(8.33333333333333322e-03f));                         \
        p = MM##_add_ps(MM##_mul_ps(p, s), MM##_set1_ps(4.16666666666666644e-02f));                         \
        p = MM##_add_ps(MM##_mul_ps(p, s), MM##_set1_ps(1.66666666666666657e-01f));                         \
        p = MM##_add_ps(MM##_mul_ps(p, s), MM##_set1_ps(0.5f));                                             \
        p = MM##_add_ps(MM##_mul_ps(p, s), MM##_set1_ps(1.0f));                                             \
        p = MM##_add_ps(MM##_mul_ps(p, s), MM##_set1_ps(1.0f));                                             \
        return MM##_mul_ps(p, MM##_cast##SI##_ps(power));                                                   \
    }

DEFINE_EXP_NONPOSITIVE(exp_nonpositive_avx2, KERNEL_TARGET, __m256, __m256i, _mm256, si256)

KERNEL_TARGET static void exp_row_avx2(const float *values, int64_t count, float shift, float *out)
{
    int64_t j = 0;
    for (; j + 8 <= count; j += 8)
        _mm256_storeu_ps(out + j, exp_nonpositive_avx2(_mm256_sub_ps(_mm256_loadu_ps(values + j), _mm256_set1_ps(shift))));
    exp_row_reference_f32_avx2(values + j, count - j, shift, out + j);
}
#endif

#if HADAMRNN_HAVE_AVX2
/* log_at_least_one of kernel_template.h on 8 values: the same operations, lane by lane. */
KERNEL_TARGET static inline __m256 log_at_least_one_avx2(__m256 value)
{
    const __m256i bits = _mm256_castps_si256(value);
    const __m256i exponent = _mm256_srli_epi32(_mm256_sub_epi32(bits, _mm256_set1_epi32(0x3f3504f3)), 23);
    const __m256 f = _mm256_castsi256_ps(_mm256_sub_epi32(bits, _mm256_slli_epi32(exponent, 23)));
    const __m256 e = _mm256_cvtepi32_ps(exponent);
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 u = _mm256_div_ps(_mm256_sub_ps(f, one), _mm256_add_ps(f, one));
    const __m256 u2 = _mm256_mul_ps(u, u);
    __m256 p = _mm256_set1_ps(1.0f / 9);
    p = _mm256_add_ps(_mm256_mul_ps(p, u2), _mm256_set1_ps(1.0f / 7));
    p = _mm256_add_ps(_mm256_mul_ps(p, u2), _mm256_set1_ps(1.0f / 5));
    p = _mm256_add_ps(_mm256_mul_ps(p, u2), _mm256_set1_ps(1.0f / 3));
    p = _mm256_add_ps(_mm256_mul_ps(p, u2), one);
    const __m256 atanh2 = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(2.0f), u), p);
    const __m256 result = _mm256_add_ps(_mm256_mul_ps(e, _mm256_set1_ps(0.693145751953125f)),
                                        _mm256_add_ps(atanh2, _mm256_mul_ps(e, _mm256_set1_ps(1.428606765330187045e-06f))));
    return _mm256_blendv_ps(value, result, _mm256_cmp_ps(value, value, _CMP_EQ_OQ)); /* NaN kept */
}

/* cross_entropy_block_reference of kernel_template.h with the LOSS_LANES = 8 steps in the lanes of
 * one register: the same operations per step. Lanes from `count` on hold stale values, computed and
 * not stored. */
KERNEL_TARGET static void cross_entropy_block_avx2(const float *block, int count, int64_t outputs, float *normalizers)
{
    __m256 largest = _mm256_loadu_ps(block);
    for (int64_t j = 1; j < outputs; j++) /* max(o, m) = (o > m) ? o : m, as the reference */
        largest = _mm256_max_ps(_mm256_loadu_ps(block + j * 8), largest);
    __m256 sum = _mm256_setzero_ps();
    for (int64_t j = 0; j < outputs; j++)
        sum = _mm256_add_ps(sum, exp_nonpositive_avx2(_mm256_sub_ps(_mm256_loadu_ps(block + j * 8), largest)));
    float lanes[8];
    _mm256_storeu_ps(lanes, _mm256_add_ps(largest, log_at_least_one_avx2(sum)));
    for (int l = 0; l < count; l++)
        normalizers[l] = lanes[l];
}

/* cross_entropy_gradient_block_reference of kernel_template.h with the LOSS_LANES = 8 steps in the
 * lanes of one register: the same operations per entry, e^(o_j - L) and, in the lane whose target
 * is j, that minus 1. Lanes from `count` on are computed from stale values and not stored. */
KERNEL_TARGET static void cross_entropy_gradient_block_avx2(const float *block, int count, int64_t outputs,
                                                            const float *normalizers, const int64_t *targets,
                                                            float *rows)
{
    float shift[8] = {0};
    int32_t target[8];
    for (int l = 0; l < 8; l++) { /* a target outside 0 ... k-1 (an ignored step's) matches no j */
        const int valid = l < count && targets[l] >= 0 && targets[l] < outputs;
        target[l] = valid ? (int32_t)targets[l] : -1;
        if (l < count)
            shift[l] = normalizers[l];
    }
    const __m256 shifts = _mm256_loadu_ps(shift), one = _mm256_set1_ps(1.0f);
    const __m256i targets8 = _mm256_loadu_si256((const __m256i *)target);
    for (int64_t j = 0; j < outputs; j++) {
        const __m256 softmax = exp_nonpositive_avx2(_mm256_sub_ps(_mm256_loadu_ps(block + j * 8), shifts));
        const __m256 is_target = _mm256_castsi256_ps(_mm256_cmpeq_epi32(targets8, _mm256_set1_epi32((int32_t)j)));
        float entries[8];
        _mm256_storeu_ps(entries, _mm256_blendv_ps(softmax, _mm256_sub_ps(softmax, one), is_target));
        for (int l = 0; l < count; l++)
            rows[l * outputs + j] = entries[l];
    }
}
#endif

#if HADAMRNN_HAVE_AVX2
/*
 * The read-out's backward step of kernel_template.h with the k entries of g = ∂L/∂o_t broadcast in
 * registers once per step, and one pass over the row in chunks of WIDTH columns: Vᵀg of the chunk
 * sums over k = 0, 1, ... from zero, as the reference, THROUGH(sum, h, zero) keeps it where
 * h_t > 0 (+0 elsewhere: torch's threshold_backward), and ReLU(h_t) goes to `rectified_out` for
 * ∂V. NAME##_group is always_inline with a constant count of outputs; NAME takes rows of whole
 * registers and at most 12 outputs, and hands anything else to NARROWER.
 *
 * Written once for both register widths, as DEFINE_EXP_NONPOSITIVE: VEC the register, MM the
 * intrinsics' prefix, WIDTH its floats. No value sums across lanes, so both agree bit for bit.
 */
#define DEFINE_READOUT_BACKWARD(NAME, TARGET, VEC, MM, WIDTH, THROUGH, NARROWER)                             \
    TARGET __attribute__((always_inline)) static inline void NAME##_group(                                   \
        const float *weight, int64_t n, const float *state, const float *grad_logits, float *outside,        \
        float *rectified_out, const int count)                                                               \
    {                                                                                                        \
        VEC g[12];                                                                                           \
        for (int k = 0; k < count; k++)                                                                      \
            g[k] = MM##_set1_ps(grad_logits[k]);                                                             \
        const VEC zero = MM##_setzero_ps();                                                                  \
        for (int64_t i = 0; i < n; i += WIDTH) {                                                             \
            const VEC h = MM##_loadu_ps(state + i);                                                          \
            VEC sum = zero;                                                                                  \
            for (int k = 0; k < count; k++)                                                                  \
                sum = MM##_add_ps(sum, MM##_mul_ps(MM##_loadu_ps(weight + k * n + i), g[k]));                \
            MM##_storeu_ps(outside + i, MM##_add_ps(MM##_loadu_ps(outside + i), THROUGH(sum, h, zero)));     \
            if (rectified_out)                                                                               \
                MM##_storeu_ps(rectified_out + i, MM##_max_ps(zero, h)); /* as torch.relu */                 \
        }                                                                                                    \
    }                                                                                                        \
                                                                                                             \
    TARGET static void NAME(const float *weight, int64_t outputs, int64_t n, const float *state,             \
                            const float *grad_logits, float *outside, float *rectified_out)                  \
    {                                                                                                        \
        switch (n % WIDTH ? 0 : outputs) {                                                                   \
        CONSTANT_COUNT_CASES(NAME##_group, weight, n, state, grad_logits, outside, rectified_out)            \
        case 12: NAME##_group(weight, n, state, grad_logits, outside, rectified_out, 12); break;             \
        default: NARROWER(weight, outputs, n, state, grad_logits, outside, rectified_out); break;            \
        }                                                                                                    \
    }

/*
 * readout_weight_gradient_reference of kernel_template.h with the running sums of WIDTH columns of
 * up to 12 outputs in registers across the waiting steps: each entry of ∂V takes the same terms
 * g_s,k ReLU(h_s)_i in the same order s = 0, 1, ..., loaded and stored once per call instead of
 * once per step. Rows that are not whole registers go to NARROWER. Written once for both register
 * widths, as DEFINE_READOUT_BACKWARD.
 */
#define DEFINE_READOUT_WEIGHT_GRADIENT(NAME, TARGET, VEC, MM, WIDTH, NARROWER)                               \
    TARGET __attribute__((always_inline)) static inline void NAME##_group(                                   \
        float *partial_weight, int64_t outputs, int64_t n, const float *rectified, const float *grads,       \
        int count, const int group)                                                                          \
    {                                                                                                        \
        for (int64_t i = 0; i < n; i += WIDTH) {                                                             \
            VEC sums[12];                                                                                    \
            for (int k = 0; k < group; k++)                                                                  \
                sums[k] = MM##_loadu_ps(partial_weight + k * n + i);                                         \
            for (int s = 0; s < count; s++) {                                                                \
                const VEC relu = MM##_loadu_ps(rectified + s * n + i);                                       \
                for (int k = 0; k < group; k++)                                                              \
                    sums[k] = MM##_add_ps(sums[k], MM##_mul_ps(MM##_set1_ps(grads[s * outputs + k]), relu)); \
            }                                                                                                \
            for (int k = 0; k < group; k++)                                                                  \
                MM##_storeu_ps(partial_weight + k * n + i, sums[k]);                                         \
        }                                                                                                    \
    }                                                                                                        \
                                                                                                             \
    TARGET static void NAME(float *partial_weight, int64_t outputs, int64_t n, const float *rectified,       \
                            const float *grads, int count)                                                   \
    {                                                                                                        \
        if (n % WIDTH) {                                                                                     \
            NARROWER(partial_weight, outputs, n, rectified, grads, count);                                   \
            return;                                                                                          \
        }                                                                                                    \
        for (int64_t first = 0; first < outputs; first += 12) {                                              \
            float *rows = partial_weight + first * n;                                                        \
            const float *g = grads + first; /* grads[s outputs + first + k] */                               \
            switch (outputs - first < 12 ? outputs - first : 12) {                                           \
            CONSTANT_COUNT_CASES(NAME##_group, rows, outputs, n, rectified, g, count)                        \
            default: NAME##_group(rows, outputs, n, rectified, g, count, 12); break;                         \
            }                                                                                                \
        }                                                                                                    \
    }

KERNEL_TARGET static inline __m256 through_avx2(__m256 sum, __m256 h, __m256 zero)
{
    return _mm256_and_ps(sum, _mm256_cmp_ps(h, zero, _CMP_GT_OQ));
}

DEFINE_READOUT_BACKWARD(readout_backward_avx2, KERNEL_TARGET, __m256, _mm256, 8, through_avx2,
                        readout_backward_reference_f32_avx2)
DEFINE_READOUT_WEIGHT_GRADIENT(readout_weight_gradient_avx2, KERNEL_TARGET, __m256, _mm256, 8,
                               readout_weight_gradient_reference_f32_avx2)
#endif

#if HADAMRNN_HAVE_AVX2
/*
 * The yardstick of the transform's speed (benchmarks/kernels_ratio.py): `iterations` rounds of one
 * 8-lane addition on each of 12 independent accumulators, 96 float additions per round, with
 * nothing else to do (12 chains cover the latency of the two addition pipes). Returns a sum of the
 * accumulators, so that the compiler keeps the work.
 */
#define PROBE_ADD(k) a##k = _mm256_add_ps(a##k, step);
KERNEL_TARGET float add_probe_avx2(int64_t iterations)
{
    const __m256 step = _mm256_set1_ps(1e-7f);
    __m256 a0 = _mm256_set1_ps(0), a1 = _mm256_set1_ps(1), a2 = _mm256_set1_ps(2), a3 = _mm256_set1_ps(3);
    __m256 a4 = _mm256_set1_ps(4), a5 = _mm256_set1_ps(5), a6 = _mm256_set1_ps(6), a7 = _mm256_set1_ps(7);
    __m256 a8 = _mm256_set1_ps(8), a9 = _mm256_set1_ps(9), a10 = _mm256_set1_ps(10), a11 = _mm256_set1_ps(11);
    for (int64_t i = 0; i < iterations; i++) {
        PROBE_ADD(0) PROBE_ADD(1) PROBE_ADD(2) PROBE_ADD(3) PROBE_ADD(4) PROBE_ADD(5)
        PROBE_ADD(6) PROBE_ADD(7) PROBE_ADD(8) PROBE_ADD(9) PROBE_ADD(10) PROBE_ADD(11)
        /* keeps the accumulators in registers (GCC would otherwise keep an array of them in memory) */
        __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5), "+x"(a6), "+x"(a7),
                         "+x"(a8), "+x"(a9), "+x"(a10), "+x"(a11));
    }
    __m256 sum = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                               _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    sum = _mm256_add_ps(sum, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    return _mm256_cvtss_f32(sum);
}
#undef PROBE_ADD
#endif

#if HADAMRNN_HAVE_AVX2
/*
 * The AVX2 kernels again, with an AVX-512 row transform and AVX-512 element-wise passes of the
 * fused read-out and loss: the table kernels_f32_avx512 is the template compiled once more with
 * FWHT_ROW, READOUT_BACKWARD, READOUT_WEIGHT_GRADIENT and EXP_ROW set to their 16-lane versions, so
 * it shares every other helper above (DOT, READOUT, ...) with kernels_f32_avx2. module.c chooses
 * it after __builtin_cpu_supports says the CPU has AVX-512 F, DQ and VL.
 *
 * The row transform follows fwht_row_avx2 with 16-float registers: four stages (distances 1, 2, 4
 * and 8) inside one register, then passes of up to AVX512_RADIX_STAGES stages over the row.
 */
#undef KERNEL
#undef KERNEL_TABLE
#undef FWHT_ROW
#define KERNEL(name) name##_f32_avx512
#define KERNEL_TABLE kernels_f32_avx512
#define FWHT_ROW fwht_row_avx512
#define AVX512_TARGET __attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma")))

AVX512_TARGET static void fwht_row_avx512(const float *src, float *dst, int64_t n, int64_t block_size,
                                          const float *gain);

/* The element-wise passes of the fused read-out and loss in 16 lanes: each value takes the same
 * operations in the same order as in the AVX2 versions (none sums across lanes), so the two tables
 * agree bit for bit. The read-out itself (READOUT) sums across lanes and stays the AVX2 one. */
#undef EXP_ROW
#undef READOUT_BACKWARD
#undef READOUT_WEIGHT_GRADIENT
#define EXP_ROW exp_row_avx512
#define READOUT_BACKWARD readout_backward_avx512
#define READOUT_WEIGHT_GRADIENT readout_weight_gradient_avx512
AVX512_TARGET static void exp_row_avx512(const float *values, int64_t count, float shift, float *out);
AVX512_TARGET static void readout_backward_avx512(const float *weight, int64_t outputs, int64_t n, const float *state,
                                                  const float *grad_logits, float *outside, float *rectified_out);
AVX512_TARGET static void readout_weight_gradient_avx512(float *partial_weight, int64_t outputs, int64_t n,
                                                         const float *rectified, const float *grads, int count);

#include "kernel_template.h"

DEFINE_EXP_NONPOSITIVE(exp_nonpositive_avx512, AVX512_TARGET, __m512, __m512i, _mm512, si512)
#undef DEFINE_EXP_NONPOSITIVE

/* Whole registers, then the rest under a mask: the k logits of a step (k = 9 for the copy task) in
 * one register instead of one AVX2 register and a scalar tail. */
AVX512_TARGET static void exp_row_avx512(const float *values, int64_t count, float shift, float *out)
{
    const __m512 shift16 = _mm512_set1_ps(shift);
    int64_t j = 0;
    for (; j + 16 <= count; j += 16)
        _mm512_storeu_ps(out + j, exp_nonpositive_avx512(_mm512_sub_ps(_mm512_loadu_ps(values + j), shift16)));
    if (j < count) {
        const __mmask16 mask = (__mmask16)((1u << (count - j)) - 1);
        const __m512 x = _mm512_sub_ps(_mm512_maskz_loadu_ps(mask, values + j), shift16);
        _mm512_mask_storeu_ps(out + j, mask, exp_nonpositive_avx512(x));
    }
}

AVX512_TARGET static inline __m512 through_avx512(__m512 sum, __m512 h, __m512 zero)
{
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(h, zero, _CMP_GT_OQ), sum);
}

DEFINE_READOUT_BACKWARD(readout_backward_avx512, AVX512_TARGET, __m512, _mm512, 16, through_avx512,
                        readout_backward_avx2)
DEFINE_READOUT_WEIGHT_GRADIENT(readout_weight_gradient_avx512, AVX512_TARGET, __m512, _mm512, 16,
                               readout_weight_gradient_avx2)
#undef DEFINE_READOUT_BACKWARD
#undef DEFINE_READOUT_WEIGHT_GRADIENT

/* The butterflies at distance d inside a register, as butterflies_at_distance_1 above: the partner
 * lanes swapped into place, then fma(x, ±1, partner), one rounded a ± b per lane. */
AVX512_TARGET static inline __m512 butterflies16_at_distance_1(__m512 x)
{
    const __m512 sign = _mm512_setr_ps(1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1);
    return _mm512_fmadd_ps(x, sign, _mm512_permute_ps(x, _MM_SHUFFLE(2, 3, 0, 1)));
}

AVX512_TARGET static inline __m512 butterflies16_at_distance_2(__m512 x)
{
    const __m512 sign = _mm512_setr_ps(1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1, -1);
    return _mm512_fmadd_ps(x, sign, _mm512_permute_ps(x, _MM_SHUFFLE(1, 0, 3, 2)));
}

AVX512_TARGET static inline __m512 butterflies16_at_distance_4(__m512 x)
{
    const __m512 sign = _mm512_setr_ps(1, 1, 1, 1, -1, -1, -1, -1, 1, 1, 1, 1, -1, -1, -1, -1);
    return _mm512_fmadd_ps(x, sign, _mm512_shuffle_f32x4(x, x, _MM_SHUFFLE(2, 3, 0, 1)));
}

AVX512_TARGET static inline __m512 butterflies16_at_distance_8(__m512 x)
{
    const __m512 sign = _mm512_setr_ps(1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1, -1);
    return _mm512_fmadd_ps(x, sign, _mm512_shuffle_f32x4(x, x, _MM_SHUFFLE(1, 0, 3, 2)));
}

AVX512_TARGET __attribute__((always_inline)) static inline __m512 butterflies16_in_register(__m512 x, const int stages)
{
    if (stages >= 1)
        x = butterflies16_at_distance_1(x);
    if (stages >= 2)
        x = butterflies16_at_distance_2(x);
    if (stages >= 3)
        x = butterflies16_at_distance_4(x);
    if (stages >= 4)
        x = butterflies16_at_distance_8(x);
    return x;
}

AVX512_TARGET __attribute__((always_inline)) static inline void butterflies16_across_registers(__m512 *v, const int stages)
{
    const int count = 1 << stages;
#pragma GCC unroll 8
    for (int distance = 1; distance < count; distance *= 2)
#pragma GCC unroll 32
        for (int k = 0; k < count; k++)
            if (!(k & distance)) {
                const __m512 sum = _mm512_add_ps(v[k], v[k + distance]);
                v[k + distance] = _mm512_sub_ps(v[k], v[k + distance]);
                v[k] = sum;
            }
}

AVX512_TARGET __attribute__((always_inline)) static inline void
first_pass16(const float *src, float *dst, int64_t n, const int in_register, const int across, const float *gain)
{
    const int count = 1 << across;
    for (int64_t i = 0; i < n; i += 16 * count) {
        __m512 v[16];
#pragma GCC unroll 32
        for (int k = 0; k < count; k++)
            v[k] = butterflies16_in_register(_mm512_loadu_ps(src + i + 16 * k), in_register);
        butterflies16_across_registers(v, across);
#pragma GCC unroll 32
        for (int k = 0; k < count; k++) {
            if (gain)
                v[k] = _mm512_mul_ps(v[k], _mm512_loadu_ps(gain + i + 16 * k));
            _mm512_storeu_ps(dst + i + 16 * k, v[k]);
        }
    }
}

AVX512_TARGET __attribute__((always_inline)) static inline void
radix_pass16(float *x, int64_t n, int64_t half, const int stages, const float *gain)
{
    const int count = 1 << stages;
    for (int64_t group = 0; group < n; group += (int64_t)count * half)
        for (int64_t i = group; i < group + half; i += 16) {
            __m512 v[8];
#pragma GCC unroll 32
            for (int k = 0; k < count; k++)
                v[k] = _mm512_loadu_ps(x + i + k * half);
            butterflies16_across_registers(v, stages);
#pragma GCC unroll 32
            for (int k = 0; k < count; k++) {
                if (gain)
                    v[k] = _mm512_mul_ps(v[k], _mm512_loadu_ps(gain + i + k * half));
                _mm512_storeu_ps(x + i + k * half, v[k]);
            }
        }
}

#define FIRST_PASS16(ACROSS) first_pass16(src, dst, n, 4, ACROSS, first_gain)
#define RADIX_PASS16(STAGES) radix_pass16(dst, n, half, STAGES, pass_gain)

/*
 * The plan of passes, for the t = log2(block_size) - 4 stages after those inside registers: one
 * pass when t <= 4, else later passes of 3 stages each and the rest (2 to 4) in the first pass,
 * so that no pass does a single stage (a sweep over the row for one addition per element). On
 * the project's Zen 4 machine this beat both wider passes (16 and 32 registers: spills) and
 * narrower ones (see docs/performance.md).
 */
AVX512_TARGET static void fwht_row_avx512(const float *src, float *dst, int64_t n, int64_t block_size,
                                          const float *gain)
{
    if (n % 16 || block_size < 16) { /* shorter than one register, or blocks within one: AVX2 */
        fwht_row_avx2(src, dst, n, block_size, gain);
        return;
    }
    const int after_register = __builtin_ctzll((unsigned long long)block_size) - 4;
    const int later_passes = after_register <= 4 ? 0 : (after_register - 4 + 2) / 3;
    const int across = after_register - 3 * later_passes;

    const float *first_gain = later_passes == 0 ? gain : NULL;
    switch (across) {
    case 0: FIRST_PASS16(0); break;
    case 1: FIRST_PASS16(1); break;
    case 2: FIRST_PASS16(2); break;
    case 3: FIRST_PASS16(3); break;
    default: FIRST_PASS16(4); break;
    }
    int64_t half = (int64_t)16 << across;
    for (int pass = 1; pass <= later_passes; pass++, half <<= 3) {
        const float *pass_gain = pass == later_passes ? gain : NULL;
        RADIX_PASS16(3);
    }
}
#undef FIRST_PASS16
#undef RADIX_PASS16
#endif /* HADAMRNN_HAVE_AVX2 */
