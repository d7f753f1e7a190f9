/* predict.c: classify sequences with a HadamRNN exported by
 *     hadamrnn export RUN --format c --out model.h
 *
 * Input (stdin), one sequence after another: the number of steps T, then
 * T * HRNN_INPUT_SIZE float features, step by step. Output (stdout), one line
 * per sequence: the predicted class, then the real logits of the last step.
 *
 * Build and run:
 *     gcc -std=c99 -O2 -I. predict.c -o predict && ./predict < sequences.txt
 *
 * The model itself (hrnn_init, hrnn_run) uses integers only; floating point
 * appears here, on the host side, to turn features into input codes and
 * integer logits into real ones.
 */
#include <stdint.h>
#include <stdio.h>

/* This file holds the model's code: define HRNN_IMPLEMENTATION in one .c file only. */
#define HRNN_IMPLEMENTATION
#include "model.h"

#define MAX_STEPS 4096

/* A feature to its input code: round(x / HRNN_INPUT_SCALE) half away from zero,
 * then saturate to +-HRNN_INPUT_LIMIT. This is the rule of hadamrnn's runtimes,
 * so the codes are the same. */
static int8_t quantize_input(double x)
{
    double scaled = x / HRNN_INPUT_SCALE;
    double whole;
    double fraction;
    if (scaled > HRNN_INPUT_LIMIT) {
        return (int8_t)HRNN_INPUT_LIMIT;
    }
    if (scaled < -HRNN_INPUT_LIMIT) {
        return (int8_t)-HRNN_INPUT_LIMIT;
    }
    whole = (double)(long)scaled; /* truncation toward zero is exact */
    fraction = scaled - whole;    /* exact as well, so the tie test below is exact */
    if (fraction >= 0.5) {
        whole += 1.0;
    } else if (fraction <= -0.5) {
        whole -= 1.0;
    }
    return (int8_t)whole;
}

int main(void)
{
    static int8_t codes[MAX_STEPS * HRNN_INPUT_SIZE];
    int32_t logits[HRNN_OUTPUT_SIZE];
    hrnn_state state;
    unsigned long steps;
    unsigned long i;
    double feature;
    int best;
    int k;

    while (scanf("%lu", &steps) == 1) {
        if (steps == 0 || steps > MAX_STEPS) {
            fprintf(stderr, "predict: expected 1..%d steps, got %lu\n",
                    MAX_STEPS, steps);
            return 1;
        }
        for (i = 0; i < steps * HRNN_INPUT_SIZE; ++i) {
            if (scanf("%lf", &feature) != 1) {
                fprintf(stderr, "predict: expected %lu features, got %lu\n",
                        steps * HRNN_INPUT_SIZE, i);
                return 1;
            }
            codes[i] = quantize_input(feature);
        }
        hrnn_init(&state);                      /* h_0 = 0: one sequence at a time */
        hrnn_run(&state, codes, steps, logits); /* the logits of the last step */
        best = 0;
        for (k = 1; k < HRNN_OUTPUT_SIZE; ++k) {
            if (logits[k] > logits[best]) {
                best = k;
            }
        }
        printf("%d", best);
        for (k = 0; k < HRNN_OUTPUT_SIZE; ++k) {
            printf(" %.9g", HRNN_OUTPUT_SCALE * (double)logits[k]);
        }
        printf("\n");
    }
    return 0;
}
