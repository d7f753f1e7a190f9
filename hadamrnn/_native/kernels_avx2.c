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

#define REAL float
#define KERNEL(name) name##_f32_avx2
#define KERNEL_TARGET __attribute__((target("avx2,fma")))
#define KERNEL_TABLE kernels_f32_avx2
#define FWHT_ROW fwht_row_avx2
#define DOT dot_avx2

KERNEL_TARGET static void fwht_row_avx2(const float *src, float *dst, int64_t n, int64_t block_size,
                                        const float *gain);
KERNEL_TARGET static inline float dot_avx2(const float *a, const float *b, int64_t n);

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
