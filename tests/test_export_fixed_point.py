"""The fixed-point convention (``hadamrnn.export.fixed_point``): rounding, rescale, saturation and
the accumulator bounds. Expected values are worked out by hand or with exact fractions."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch

from hadamrnn.export.errors import ExportError
from hadamrnn.export.fixed_point import (
    INT32_MAX,
    Rescale,
    accumulator_bounds,
    activation_limit,
    check_accumulator_bounds,
    check_input_term_limit,
    input_term_limit,
    inverse_sqrt_rescale,
    quantize,
    rescale,
    rescale_for,
    round_half_away,
    round_shift,
    saturate,
)


def exact_round_half_away(value: Fraction) -> int:
    magnitude = math.floor(abs(value) + Fraction(1, 2))
    return -magnitude if value < 0 else magnitude


class TestRounding:
    @pytest.mark.parametrize(
        ("value", "shift", "expected"),
        [(5, 1, 3), (-5, 1, -3), (3, 1, 2), (1, 1, 1), (-1, 1, -1), (7, 2, 2), (6, 2, 2), (-6, 2, -2), (5, 2, 1), (-5, 2, -1), (9, 0, 9), (-9, 0, -9)],
    )
    def test_round_shift_by_hand(self, value, shift, expected):
        assert int(round_shift(np.array([value]), shift)[0]) == expected

    def test_round_shift_matches_exact_fractions_and_is_odd(self):
        values = np.arange(-300, 301, dtype=np.int64)
        for shift in range(0, 6):
            expected = [exact_round_half_away(Fraction(int(v), 2**shift)) for v in values]
            np.testing.assert_array_equal(round_shift(values, shift), expected)
            np.testing.assert_array_equal(round_shift(-values, shift), -round_shift(values, shift))

    def test_rescale_matches_exact_fractions_at_the_int32_extremes(self):
        values = np.array([-(2**31) + 1, -(2**30) - 7, -12345, -1, 0, 1, 99999, 2**31 - 1], dtype=np.int64)
        for multiplier, shift in [(1518500250, 34), (2**31 - 1, 62), (1, 0), (3, 1), (1923226446, 26)]:
            expected = [exact_round_half_away(Fraction(int(v) * multiplier, 2**shift)) for v in values]
            np.testing.assert_array_equal(rescale(values, multiplier, shift), expected)

    def test_numpy_object_and_torch_give_the_same_integers(self):
        """The convention is written once and runs on every array type of the runtimes."""
        values = np.random.default_rng(0).integers(-(2**31) + 1, 2**31, size=1000)
        for multiplier, shift in [(1518500250, 37), (1, 3), (2**30 + 12345, 40)]:
            as_numpy = rescale(values, multiplier, shift)
            as_objects = rescale(values.astype(object), multiplier, shift).astype(np.int64)
            as_torch = rescale(torch.from_numpy(values), multiplier, shift).numpy()
            np.testing.assert_array_equal(as_numpy, as_objects)
            np.testing.assert_array_equal(as_numpy, as_torch)

    def test_rescale_of_int32_arrays_is_widened_first(self):
        values = np.array([2**31 - 1], dtype=np.int32)
        assert int(rescale(values, 2**31 - 1, 31)[0]) == exact_round_half_away(Fraction((2**31 - 1) ** 2, 2**31))

    def test_float_rounding_is_exact_at_ties(self):
        values = [0.5, -0.5, 1.5, 2.5, -2.5, 0.49999999999999994, -0.49999999999999994, 3.0, -0.0, 1e15 + 0.5]
        expected = [1, -1, 2, 3, -3, 0, 0, 3, 0, 1e15 + 1]
        np.testing.assert_array_equal(round_half_away(values), expected)


class TestSaturation:
    def test_symmetric_range(self):
        assert activation_limit(8) == 127 and activation_limit(16) == 32767 and activation_limit(2) == 1
        np.testing.assert_array_equal(saturate(np.array([-200, -128, -127, 0, 127, 128]), 8), [-127, -127, -127, 0, 127, 127])

    def test_quantize_inputs(self):
        codes = quantize(np.array([0.0, 1.0, -1.0, 0.5 / 127, 10.0, -10.0]), 1 / 127, 8)
        np.testing.assert_array_equal(codes, [0, 127, -127, 1, 127, -127])
        assert codes.dtype == np.int64

    def test_quantize_rejects_non_finite_inputs(self):
        with pytest.raises(ValueError, match=r"finite numbers, got nan at index \(1,\)"):
            quantize(np.array([0.0, np.nan]), 0.1, 8)


class TestRescaleChoice:
    @pytest.mark.parametrize("shift", [0, 1, 5, 40, 62])
    def test_powers_of_two_are_exact_shifts(self, shift):
        assert rescale_for(2.0**-shift) == Rescale(1, shift)

    @pytest.mark.parametrize("real", [1e-9, 3e-5, 0.1234, 0.70710678, 1.0 + 2**-40, 3.0, 12345.678, 2.0**30 * 1.5])
    def test_31_significant_bits(self, real):
        chosen = rescale_for(real)
        assert 2**30 <= chosen.multiplier < 2**31 or chosen.is_exact_shift
        assert abs(chosen.value - real) <= real * 2**-31

    @pytest.mark.parametrize("real", [0.0, -1.0, math.inf, math.nan, 2.0**31, 3 * 2.0**-40, 2.0**-63])
    def test_out_of_range_factors_are_refused(self, real):
        with pytest.raises(ValueError, match="got|out of range"):
            rescale_for(real)

    @pytest.mark.parametrize("k", range(0, 21))
    def test_inverse_sqrt(self, k):
        m = 2**k
        chosen = inverse_sqrt_rescale(m)
        if k % 2 == 0:
            assert chosen == Rescale(1, k // 2)
        else:
            # M is round(2^s / sqrt(m)): (2M - 1)^2 m < 4^(s+1) < (2M + 1)^2 m, exactly.
            M, s = chosen.multiplier, chosen.shift
            assert (2 * M - 1) ** 2 * m < 4 ** (s + 1) < (2 * M + 1) ** 2 * m
            assert 2**30 <= M < 2**31

    def test_rescale_validation(self):
        with pytest.raises(ValueError, match=r"multiplier must be an integer in \[1, 2147483647\], got 0"):
            Rescale(0, 3)
        with pytest.raises(ValueError, match=r"shift must be an integer in \[0, 62\], got 63"):
            Rescale(1, 63)


class TestBounds:
    @pytest.mark.parametrize("hidden_bits", [2, 4, 8, 12, 16])
    def test_the_input_term_clip_cannot_change_a_result(self, hidden_bits):
        for k in range(0, 30 - hidden_bits + 1):
            check_input_term_limit(2**k, hidden_bits)

    def test_recurrent_accumulator_fits_int32_up_to_the_documented_sizes(self):
        for hidden_bits, largest_block in [(16, 2**14), (8, 2**22)]:
            bounds = accumulator_bounds(
                hidden_size=largest_block, block_size=largest_block, input_size=1, input_bits=8,
                hidden_bits=hidden_bits, input_weight_bits=1, output_weight_bits=1,
                max_abs_input_bias=0, max_abs_output_bias=0,
            )
            assert bounds["recurrent accumulator m*H + Z"] <= INT32_MAX
            assert bounds["recurrent accumulator m*H + Z"] == largest_block * activation_limit(hidden_bits) + input_term_limit(largest_block, hidden_bits)
            doubled = accumulator_bounds(
                hidden_size=2 * largest_block, block_size=2 * largest_block, input_size=1, input_bits=8,
                hidden_bits=hidden_bits, input_weight_bits=1, output_weight_bits=1,
                max_abs_input_bias=0, max_abs_output_bias=0,
            )
            with pytest.raises(ExportError, match=r"expected the worst case of the recurrent accumulator m\*H \+ Z to be at most 2\*\*31 - 1 = \d+, got \d+"):
                check_accumulator_bounds(doubled, ExportError)

    def test_read_out_bound_names_the_sum(self):
        bounds = accumulator_bounds(
            hidden_size=512, block_size=512, input_size=1, input_bits=8, hidden_bits=16,
            input_weight_bits=4, output_weight_bits=8, max_abs_input_bias=0, max_abs_output_bias=10**6,
        )
        assert bounds["read-out n*2^(p_V-1)*H + max|c|"] == 512 * 128 * 32767 + 10**6
        with pytest.raises(ExportError, match="read-out"):
            check_accumulator_bounds(bounds, ExportError)
