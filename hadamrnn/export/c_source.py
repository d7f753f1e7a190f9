r"""Generate one self-contained C99 header that runs a :class:`QuantizedModel` with integers only.

The header follows the single-file ("stb") convention: it always declares the API, and one
translation unit defines ``HRNN_IMPLEMENTATION`` before including it to get the definitions::

    #define HRNN_IMPLEMENTATION
    #include "model.h"

    hrnn_state state;
    hrnn_init(&state);                       /* h_0 = 0 */
    hrnn_run(&state, codes, steps, logits);  /* codes: steps x HRNN_INPUT_SIZE int8_t */

The weights are ``static const`` arrays in the packed layout of the ``.hrnn`` file (sign bits and
p-bit two's-complement fields, LSB first). The step uses ``int32_t`` sums, one 64-bit product per
rescale, and no ``malloc``, no ``<math.h>`` and no floating point; the state struct holds its own
scratch, so a state is all the memory a model needs. It compiles cleanly with
``gcc -std=c99 -Wall -Wextra -Werror -pedantic``. The arithmetic is that of
:mod:`hadamrnn.export.fixed_point`, and the tests compare its outputs with
:mod:`hadamrnn.runtime` bit for bit.
"""

from __future__ import annotations

import numpy as np

from ..core import split_order
from ..packing import pack_int, pack_signs
from . import fixed_point
from .errors import ExportError
from .model_file import QuantizedModel

__all__ = ["generate_c"]

# The C reads a p-bit field as two bytes starting at its first byte, with 32-bit index arithmetic.
_MAX_PACKED_BITS = 1 << 31


def _byte_array(name: str, data: bytes, comment: str) -> str:
    # One zero byte past the end: a field read touches the byte after its first one.
    data = bytes(data) + b"\x00"
    rows = [", ".join(f"0x{b:02x}" for b in data[i : i + 16]) for i in range(0, len(data), 16)]
    body = ",\n    ".join(rows)
    return f"/* {comment} */\nstatic const uint8_t {name}[{len(data)}] = {{\n    {body}\n}};\n"


def _int32_array(name: str, values: np.ndarray, comment: str) -> str:
    items = [str(int(v)) for v in values]
    rows = [", ".join(items[i : i + 12]) for i in range(0, len(items), 12)]
    body = ",\n    ".join(rows)
    return f"/* {comment} */\nstatic const int32_t {name}[{len(items)}] = {{\n    {body}\n}};\n"


def _rescale_function(name: str, rescale: fixed_point.Rescale, what: str) -> str:
    if rescale.is_exact_shift:
        body = f"    return hrnn_round_shift((int64_t)value, {rescale.shift}u); /* exact: a shift, no multiplication */"
    else:
        body = f"    return hrnn_round_shift((int64_t)value * {rescale.multiplier}, {rescale.shift}u);"
    return (
        f"/* {what}: value * {rescale.multiplier} / 2^{rescale.shift} (~{rescale.value:.9g}), rounded half away from zero. */\n"
        f"static int64_t {name}(int32_t value)\n{{\n{body}\n}}\n"
    )


def generate_c(model: QuantizedModel) -> str:
    """The C99 source of ``model`` (see the module docstring); raises :class:`ExportError`."""
    model.validate(ExportError)
    n, m, d, o = model.hidden_size, model.block_size, model.input_size, model.output_size
    for name, count, bits in (
        ("U", n * d, model.input_weight_bits),
        ("V", o * n, model.output_weight_bits),
        ("the embedding", model.vocab_size * d, model.input_bits),
    ):
        if count * bits >= _MAX_PACKED_BITS:
            raise ExportError(f"{name} is too large for the C runtime: {count * bits} packed bits, expected < 2^31")
    hidden_type = "int8_t" if model.hidden_bits <= 8 else "int16_t"
    bounds = model.accumulator_bounds()
    bound_lines = "\n".join(f" *   {name}: {value} < 2^31" for name, value in bounds.items())
    recurrent = model.recurrent_rescale
    many = model.many_to_many
    has_embedding = model.embedding is not None
    sign_bytes = pack_signs(model.signs).astype("<u8").tobytes()[: -(-n // 8)]
    base_order, sylvester_size = split_order(m, "block_size")  # each block is H_r ⊗ S_c, m = r c
    if base_order == 1:
        block_doc = f"S_{m}"
    else:
        block_doc = f"H_{base_order} (x) S_{sylvester_size}"
    mixed_member = ""
    base_product = ""
    transformed = "recurrent"
    if base_order > 1:
        mixed_member = "\n    int32_t mixed[HRNN_HIDDEN_SIZE];         /* scratch of the step: FWHT_m(h_q) */"
        transformed = "state->mixed"
        base_product = """    /* The base product: in each block, output row a (c entries) is the sum of the r rows of c
     * entries with the signs of row a of H_r. Additions and subtractions of integers: exact. */
    for (block = 0; block < HRNN_HIDDEN_SIZE; block += HRNN_BLOCK_SIZE) {
        uint32_t row, column;
        for (row = 0; row < HRNN_BASE_ORDER; ++row) {
            for (j = 0; j < HRNN_SYLVESTER_SIZE; ++j) {
                int32_t sum = 0;
                for (column = 0; column < HRNN_BASE_ORDER; ++column) {
                    uint32_t bit = row * HRNN_BASE_ORDER + column;
                    int32_t value = recurrent[block + column * HRNN_SYLVESTER_SIZE + j];
                    sum += ((hrnn_base[bit >> 3] >> (bit & 7u)) & 1u) ? -value : value;
                }
                state->mixed[block + row * HRNN_SYLVESTER_SIZE + j] = sum;
            }
        }
    }
"""

    out_doc = (
        "out: HRNN_OUTPUT_SIZE logits of this step, or NULL to skip the read-out"
    )
    run_doc = (
        "out: steps * HRNN_OUTPUT_SIZE logits (one row per step)"
        if many
        else "out: HRNN_OUTPUT_SIZE logits of the last step (untouched when steps == 0)"
    )
    relu_doc = (
        "h_q' = max(h_q', 0)                                      the ReLU recurrence"
        if model.recurrence == "relu"
        else "(the linear recurrence: no ReLU on the state)"
    )
    calibration_doc = model.calibration_method
    if model.calibration_method == "percentile":
        calibration_doc += f" (percentile {model.calibration_percentile:g})"
    token_api = ""
    if has_embedding:
        token_api = """
/* One step on a token id: its embedding row is the input. Returns 0, or -1 (state untouched) for
 * a token >= HRNN_VOCAB_SIZE. */
int hrnn_step_token(hrnn_state *state, uint32_t token, int32_t *out);
/* hrnn_run on token ids; returns 0, or -1 at the first token out of range (earlier steps done). */
int hrnn_run_tokens(hrnn_state *state, const uint32_t *tokens, size_t steps, int32_t *out);
"""

    header = f"""/* Generated by `hadamrnn export --format c`: a HadamRNN with integer-only inference.
 *
 * Model: n = {n} hidden units, block size m = {m} ({'full binary W' if m == n else 'block-ternary W'}; each block {block_doc}),
 * d = {d} inputs{f' (an embedding of {model.vocab_size} tokens)' if has_embedding else ''}, o = {o} outputs ({'read-out at every step' if many else 'read-out at the last step'}),
 * {model.recurrence} recurrence; U: {model.input_weight_bits}-bit codes, V: {model.output_weight_bits}-bit codes;
 * inputs: {model.input_bits}-bit codes, hidden state: {model.hidden_bits}-bit codes.
 *
 * The step (integers only; see hadamrnn/export/fixed_point.py, the one place the rule is written):
 *   x_q  = saturate(x, b_x)                                   symmetric range +-HRNN_INPUT_LIMIT
 *   a    = u . FWHT_m(h_q)                                    butterflies{', the r x r base product' if base_order > 1 else ''} and sign flips
 *   z    = clip(rescale_in(U_q x_q + b_in), -Z, Z)
 *   h_q' = saturate(rescale_rec(a + z), b_h)                  rescale_rec = 1/sqrt(m)
 *   {relu_doc}
 *   y    = V_q max(h_q', 0) + c_q                             int32 logits
 * rescale(v) = round_half_away_from_zero(v * M / 2^s), with a 64-bit product.
 * Worst-case magnitudes of the int32 sums:
{bound_lines}
 *
 * Real values (host side only, never used by the step):
 *   input  = HRNN_INPUT_SCALE * code       (code = saturate(round_half_away(x / HRNN_INPUT_SCALE)))
 *   logits = HRNN_OUTPUT_SCALE * y
 * Calibration: {calibration_doc} over {model.calibration_sequences} sequences.
 */
#ifndef HRNN_MODEL_H
#define HRNN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#define HRNN_HIDDEN_SIZE {n}
#define HRNN_BLOCK_SIZE {m}
#define HRNN_BASE_ORDER {base_order} /* m = r c: each block is H_r (x) S_c */
#define HRNN_SYLVESTER_SIZE {sylvester_size} /* c, the size of the butterflies */
#define HRNN_INPUT_SIZE {d}
#define HRNN_OUTPUT_SIZE {o}
#define HRNN_VOCAB_SIZE {model.vocab_size}
#define HRNN_MANY_TO_MANY {int(many)}
#define HRNN_RELU {int(model.recurrence == 'relu')}
#define HRNN_INPUT_BITS {model.input_bits}
#define HRNN_HIDDEN_BITS {model.hidden_bits}
#define HRNN_INPUT_LIMIT {fixed_point.activation_limit(model.input_bits)}
#define HRNN_HIDDEN_LIMIT {fixed_point.activation_limit(model.hidden_bits)}
#define HRNN_INPUT_TERM_LIMIT {model.input_term_limit}L /* Z = m 2^b_h: the clip of z, which never changes a result */
#define HRNN_INPUT_SCALE {model.input_scale!r}
#define HRNN_HIDDEN_SCALE {model.hidden_scale!r}
#define HRNN_OUTPUT_SCALE {model.output_scale!r}

typedef {hidden_type} hrnn_hidden_t;

/* All the memory of one running sequence (no malloc anywhere). */
typedef struct {{
    hrnn_hidden_t h[HRNN_HIDDEN_SIZE];       /* the hidden-state codes h_q */
    int32_t recurrent[HRNN_HIDDEN_SIZE];     /* scratch of the step: FWHT_c(h_q) */
    int32_t projection[HRNN_HIDDEN_SIZE];    /* scratch of the step: U_q x_q + b_in */{mixed_member}
}} hrnn_state;

/* h_0 = 0. */
void hrnn_init(hrnn_state *state);
/* One step: x holds HRNN_INPUT_SIZE input codes; {out_doc}. */
void hrnn_step(hrnn_state *state, const int8_t *x, int32_t *out);
/* `steps` steps from the current state: x holds steps * HRNN_INPUT_SIZE codes (row per step);
 * {run_doc}. */
void hrnn_run(hrnn_state *state, const int8_t *x, size_t steps, int32_t *out);
{token_api}
#endif /* HRNN_MODEL_H */
"""

    arrays = [
        _byte_array("hrnn_signs", sign_bytes, "u: bit i (LSB first) set means u_i = -1"),
        _byte_array("hrnn_u_codes", pack_int(model.input_weight, model.input_weight_bits).tobytes(), f"U_q, {n} x {d}, {model.input_weight_bits}-bit fields, row-major"),
        _int32_array("hrnn_input_bias", model.input_bias, "b_in, in units of s_U s_x"),
        _byte_array("hrnn_v_codes", pack_int(model.output_weight, model.output_weight_bits).tobytes(), f"V_q, {o} x {n}, {model.output_weight_bits}-bit fields, row-major"),
        _int32_array("hrnn_output_bias", model.output_bias, "c_q, in units of s_V s_h"),
    ]
    if base_order > 1:
        base_bytes = pack_signs(model.base_matrix.reshape(-1)).astype("<u8").tobytes()[: -(-base_order**2 // 8)]
        base_doc = (
            f"H_{base_order}, the base matrix of every block (from the model file), row-major: "
            f"bit a * {base_order} + b (LSB first) set means H[a][b] = -1"
        )
        arrays.insert(1, _byte_array("hrnn_base", base_bytes, base_doc))
    if has_embedding:
        arrays.append(
            _byte_array("hrnn_embedding", pack_int(model.embedding, model.input_bits).tobytes(), f"input codes of the {model.vocab_size} tokens, {d} {model.input_bits}-bit fields each")
        )

    readout_call = "hrnn_readout(state, out)"
    if many:
        run_body = """    size_t t;
    for (t = 0; t < steps; ++t) {
        hrnn_step(state, x + t * HRNN_INPUT_SIZE, out + t * HRNN_OUTPUT_SIZE);
    }"""
        run_tokens_body = """    size_t t;
    for (t = 0; t < steps; ++t) {
        if (hrnn_step_token(state, tokens[t], out + t * HRNN_OUTPUT_SIZE) != 0) {
            return -1;
        }
    }
    return 0;"""
    else:
        run_body = """    size_t t;
    for (t = 0; t < steps; ++t) {
        hrnn_step(state, x + t * HRNN_INPUT_SIZE, t + 1 == steps ? out : NULL);
    }"""
        run_tokens_body = """    size_t t;
    for (t = 0; t < steps; ++t) {
        if (hrnn_step_token(state, tokens[t], t + 1 == steps ? out : NULL) != 0) {
            return -1;
        }
    }
    return 0;"""

    relu_line = "        if (h < 0) {\n            h = 0; /* the ReLU recurrence */\n        }\n" if model.recurrence == "relu" else ""
    token_impl = ""
    if has_embedding:
        token_impl = f"""
int hrnn_step_token(hrnn_state *state, uint32_t token, int32_t *out)
{{
    int8_t codes[HRNN_INPUT_SIZE];
    uint32_t j;
    if (token >= (uint32_t)HRNN_VOCAB_SIZE) {{
        return -1;
    }}
    for (j = 0; j < HRNN_INPUT_SIZE; ++j) {{
        codes[j] = (int8_t)hrnn_code(hrnn_embedding, token * (uint32_t)HRNN_INPUT_SIZE + j, {model.input_bits}u);
    }}
    hrnn_step(state, codes, out);
    return 0;
}}

int hrnn_run_tokens(hrnn_state *state, const uint32_t *tokens, size_t steps, int32_t *out)
{{
{run_tokens_body}
}}
"""

    implementation = f"""
#ifdef HRNN_IMPLEMENTATION

{chr(10).join(arrays)}
/* Field `index` of a packed array of `bits`-bit two's-complement codes (1 <= bits <= 8). The field
 * starts at stream bit index * bits (LSB first) and spans at most two bytes. */
static int32_t hrnn_code(const uint8_t *packed, uint32_t index, uint32_t bits)
{{
    uint32_t bit = index * bits;
    uint32_t pair = (uint32_t)packed[bit >> 3] | ((uint32_t)packed[(bit >> 3) + 1u] << 8);
    uint32_t code = (pair >> (bit & 7u)) & ((1u << bits) - 1u);
    /* sign extension: a code with its top bit set stands for code - 2^bits */
    return (int32_t)code - (int32_t)((code >> (bits - 1u)) << bits);
}}

/* value / 2^shift rounded half away from zero. C99 integer division truncates toward zero, so
 * moving |value| half a unit away from zero first rounds ties away from zero; the divisor is a power
 * of two, which compilers turn into shifts without branches. (A right shift of a negative number
 * would be implementation-defined in C99.) |value| < 2^62 and shift <= 62 keep it in range. */
static int64_t hrnn_round_shift(int64_t value, unsigned shift)
{{
    int64_t half;
    if (shift == 0u) {{
        return value;
    }}
    half = (int64_t)1 << (shift - 1u);
    return (value < 0 ? value - half : value + half) / ((int64_t)1 << shift);
}}

static int64_t hrnn_clip(int64_t value, int64_t limit)
{{
    return value > limit ? limit : (value < -limit ? -limit : value);
}}

{_rescale_function("hrnn_rescale_input", model.input_rescale, "s_U s_x sqrt(m) / s_h")}
{_rescale_function("hrnn_rescale_recurrent", recurrent, "1/sqrt(m)")}
void hrnn_init(hrnn_state *state)
{{
    uint32_t i;
    for (i = 0; i < HRNN_HIDDEN_SIZE; ++i) {{
        state->h[i] = 0;
    }}
}}

/* out = V_q max(h_q, 0) + c_q; hidden units at 0 contribute nothing and are skipped. */
static void hrnn_readout(const hrnn_state *state, int32_t *out)
{{
    uint32_t i, r;
    for (r = 0; r < HRNN_OUTPUT_SIZE; ++r) {{
        out[r] = hrnn_output_bias[r];
    }}
    for (i = 0; i < HRNN_HIDDEN_SIZE; ++i) {{
        int32_t h = state->h[i];
        if (h <= 0) {{
            continue;
        }}
        for (r = 0; r < HRNN_OUTPUT_SIZE; ++r) {{
            out[r] += hrnn_code(hrnn_v_codes, r * (uint32_t)HRNN_HIDDEN_SIZE + i, {model.output_weight_bits}u) * h;
        }}
    }}
}}

void hrnn_step(hrnn_state *state, const int8_t *x, int32_t *out)
{{
    int32_t *recurrent = state->recurrent;
    int32_t *projection = state->projection;
    uint32_t i, j, block, half;
    /* U_q x_q + b_in, one input at a time: zero inputs (most of a one-hot vector) cost nothing. */
    for (i = 0; i < HRNN_HIDDEN_SIZE; ++i) {{
        projection[i] = hrnn_input_bias[i];
    }}
    for (j = 0; j < HRNN_INPUT_SIZE; ++j) {{
        int32_t x_q = (int32_t)hrnn_clip(x[j], HRNN_INPUT_LIMIT);
        if (x_q == 0) {{
            continue;
        }}
        for (i = 0; i < HRNN_HIDDEN_SIZE; ++i) {{
            projection[i] += hrnn_code(hrnn_u_codes, i * (uint32_t)HRNN_INPUT_SIZE + j, {model.input_weight_bits}u) * x_q;
        }}
    }}
    /* FWHT_c(h_q): in-place butterflies (a, b) -> (a + b, a - b), chunk by chunk of c. */
    for (i = 0; i < HRNN_HIDDEN_SIZE; ++i) {{
        recurrent[i] = state->h[i];
    }}
    for (block = 0; block < HRNN_HIDDEN_SIZE; block += HRNN_SYLVESTER_SIZE) {{
        for (half = 1; half < HRNN_SYLVESTER_SIZE; half <<= 1) {{
            for (i = block; i < block + HRNN_SYLVESTER_SIZE; i += 2u * half) {{
                for (j = i; j < i + half; ++j) {{
                    int32_t top = recurrent[j];
                    int32_t bottom = recurrent[j + half];
                    recurrent[j] = top + bottom;
                    recurrent[j + half] = top - bottom;
                }}
            }}
        }}
    }}
{base_product}    /* h_q' = saturate(rescale_rec(u . FWHT_m(h_q) + z), b_h) with z = clip(rescale_in(projection), -Z, Z). */
    for (i = 0; i < HRNN_HIDDEN_SIZE; ++i) {{
        int32_t a = ((hrnn_signs[i >> 3] >> (i & 7u)) & 1u) ? -{transformed}[i] : {transformed}[i];
        int32_t z = (int32_t)hrnn_clip(hrnn_rescale_input(projection[i]), HRNN_INPUT_TERM_LIMIT);
        int64_t h = hrnn_clip(hrnn_rescale_recurrent(a + z), HRNN_HIDDEN_LIMIT);
{relu_line}        state->h[i] = (hrnn_hidden_t)h;
    }}
    if (out != NULL) {{
        {readout_call};
    }}
}}

void hrnn_run(hrnn_state *state, const int8_t *x, size_t steps, int32_t *out)
{{
{run_body}
}}
{token_impl}
#endif /* HRNN_IMPLEMENTATION */
"""
    return header + implementation
