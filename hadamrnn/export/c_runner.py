"""Compile the generated C with a small driver and run it on numpy inputs (tests and benchmarks).

The driver (:data:`DRIVER_SOURCE`) reads a binary file: two int32 (``B``, ``T``), then the inputs
of each sequence in turn (``T * d`` int8 codes, or ``T`` uint32 token ids for a model with an
embedding). For each sequence it calls ``hrnn_init`` and ``hrnn_run`` (``hrnn_run_tokens``) and writes the
int32 logits (every step for a tagger, the last step for a classifier) followed by the ``n`` final
hidden codes. With ``--time R`` it instead runs the first sequence ``R`` times through
``hrnn_step`` and prints the best nanoseconds per step. Numpy-only; needs a C compiler (``cc`` or ``$CC``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .c_source import generate_c
from .errors import ExportError
from .model_file import QuantizedModel

__all__ = ["STRICT_FLAGS", "DRIVER_SOURCE", "CProgram", "find_compiler"]

STRICT_FLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic")
"""The flags the generated C must compile cleanly with."""

DRIVER_SOURCE = r"""
#define _POSIX_C_SOURCE 199309L
#define HRNN_IMPLEMENTATION
#include "model.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Inputs and logits of one sequence; static, so the driver needs no malloc either. */
#define MAX_STEPS 100000L
#if HRNN_VOCAB_SIZE > 0
static uint32_t inputs[MAX_STEPS];
#define INPUTS_PER_STEP 1
#else
static int8_t inputs[MAX_STEPS * HRNN_INPUT_SIZE];
#define INPUTS_PER_STEP HRNN_INPUT_SIZE
#endif
static int32_t logits[MAX_STEPS * HRNN_OUTPUT_SIZE];

/* One whole sequence through hrnn_run (or hrnn_run_tokens). */
static int run_sequence(FILE *in, hrnn_state *state, long steps)
{
    size_t count = (size_t)steps * INPUTS_PER_STEP;
    if (fread(inputs, sizeof inputs[0], count, in) != count) return -1;
#if HRNN_VOCAB_SIZE > 0
    return hrnn_run_tokens(state, inputs, (size_t)steps, logits);
#else
    hrnn_run(state, inputs, (size_t)steps, logits);
    return 0;
#endif
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int time_first_sequence(FILE *in, long steps, long repeats)
{
    hrnn_state state;
    double best = 1e300;
    long r, t;
    if (steps < 1 || steps > MAX_STEPS) return 6;
    if (fread(inputs, sizeof inputs[0], (size_t)steps * INPUTS_PER_STEP, in) != (size_t)steps * INPUTS_PER_STEP) return 4;
    for (r = 0; r < repeats; ++r) {
        double start = now_ns(), elapsed;
        hrnn_init(&state);
        for (t = 0; t < steps; ++t) {
            int32_t *out = (HRNN_MANY_TO_MANY || t + 1 == steps) ? logits : NULL;
#if HRNN_VOCAB_SIZE > 0
            if (hrnn_step_token(&state, inputs[t], out) != 0) return 5;
#else
            hrnn_step(&state, inputs + t * HRNN_INPUT_SIZE, out);
#endif
        }
        elapsed = now_ns() - start;
        if (elapsed < best) best = elapsed;
    }
    printf("%.3f %d\n", best / (double)steps, (int)logits[0]);
    return 0;
}

int main(int argc, char **argv)
{
    FILE *in, *out;
    int32_t shape[2];
    long b;
    if (argc == 4 && strcmp(argv[2], "--time") == 0) {
        in = fopen(argv[1], "rb");
        if (!in || fread(shape, sizeof shape, 1, in) != 1) return 3;
        return time_first_sequence(in, shape[1], atol(argv[3]));
    }
    if (argc != 3) return 2;
    in = fopen(argv[1], "rb");
    out = fopen(argv[2], "wb");
    if (!in || !out || fread(shape, sizeof shape, 1, in) != 1) return 3;
    if (shape[0] < 0 || shape[1] < 0 || shape[1] > MAX_STEPS) return 6;
    for (b = 0; b < shape[0]; ++b) {
        hrnn_state state;
        int32_t hidden[HRNN_HIDDEN_SIZE];
        long i, rows = HRNN_MANY_TO_MANY ? shape[1] : 1;
        hrnn_init(&state);
        if (run_sequence(in, &state, shape[1]) != 0) return 5;
        if (fwrite(logits, sizeof logits[0] * HRNN_OUTPUT_SIZE, (size_t)rows, out) != (size_t)rows) return 8;
        for (i = 0; i < HRNN_HIDDEN_SIZE; ++i) hidden[i] = state.h[i];
        if (fwrite(hidden, sizeof hidden, 1, out) != 1) return 8;
    }
    fclose(out);
    fclose(in);
    return 0;
}
"""


def find_compiler() -> str:
    """``$CC``, else ``cc`` or ``gcc`` on the PATH; raises :class:`ExportError` if there is none."""
    for candidate in (os.environ.get("CC"), "cc", "gcc"):
        if candidate and shutil.which(candidate):
            return candidate
    raise ExportError("no C compiler found: expected $CC, cc or gcc on the PATH, got none")


@dataclass
class CProgram:
    """The generated header of ``model`` compiled with :data:`DRIVER_SOURCE` in ``directory``."""

    model: QuantizedModel
    directory: Path
    optimization: tuple[str, ...] = ("-O2",)

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.header = self.directory / "model.h"
        self.header.write_text(generate_c(self.model), encoding="utf-8")
        (self.directory / "driver.c").write_text(DRIVER_SOURCE, encoding="utf-8")
        self.binary = self.directory / "driver"
        self._compile(["-o", str(self.binary), str(self.directory / "driver.c")])

    def _compile(self, arguments: list[str]) -> None:
        command = [find_compiler(), *STRICT_FLAGS, *self.optimization, *arguments]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ExportError(f"the generated C failed to compile: {' '.join(command)}\n{result.stderr}")

    def _write_inputs(self, inputs: np.ndarray) -> Path:
        inputs = np.asarray(inputs)
        batch, steps = inputs.shape[0], inputs.shape[1]
        path = self.directory / "inputs.bin"
        if self.model.embedding is not None:
            body = inputs.astype("<u4").tobytes()
        else:
            if inputs.min(initial=0) < -128 or inputs.max(initial=0) > 127:
                raise ExportError("the C driver reads int8 input codes; got values outside [-128, 127]")
            body = inputs.astype(np.int8).tobytes()
        path.write_bytes(np.array([batch, steps], dtype="<i4").tobytes() + body)
        return path

    def run(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(outputs, state)`` of the C code on ``(B, T, d)`` codes or ``(B, T)`` token ids,
        shaped like :meth:`hadamrnn.runtime.Runtime.run` (int64)."""
        inputs = np.asarray(inputs)
        batch, steps = inputs.shape[0], inputs.shape[1]
        output_path = self.directory / "outputs.bin"
        result = subprocess.run(
            [str(self.binary), str(self._write_inputs(inputs)), str(output_path)], capture_output=True, check=False
        )
        if result.returncode != 0:
            raise ExportError(f"the C driver failed with status {result.returncode}")
        m = self.model
        logit_rows = steps if m.many_to_many else 1
        raw = np.frombuffer(output_path.read_bytes(), dtype="<i4").reshape(batch, logit_rows * m.output_size + m.hidden_size)
        outputs = raw[:, : logit_rows * m.output_size].reshape(batch, logit_rows, m.output_size)
        if not m.many_to_many:
            outputs = outputs[:, 0]
        return outputs.astype(np.int64), raw[:, logit_rows * m.output_size :].astype(np.int64)

    def time_per_step(self, codes: np.ndarray, repeats: int = 20) -> float:
        """Best-of-``repeats`` nanoseconds per ``hrnn_step`` on one sequence ``(T, d)`` of codes."""
        path = self._write_inputs(np.asarray(codes)[None])
        result = subprocess.run(
            [str(self.binary), str(path), "--time", str(repeats)], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise ExportError(f"the C timing driver failed with status {result.returncode}")
        return float(result.stdout.split()[0])
