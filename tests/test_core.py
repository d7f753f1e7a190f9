"""The torch-free Hadamard core ``hadamrnn.core``, and every other transform of the library held
against it.

* the matrices are exactly the definition ``S[i, j] = (-1)^popcount(i & j)`` (integer ``==``);
* the integer FWHT is exactly the dense integer product, on every order 1, 2, ..., 1024 and every
  block size (the orders ``r · 2^k`` with a Paley base: ``tests/test_orders.py``);
* the float ``fwht`` of torch, the C kernels, the numpy runtime and the integer simulation compute
  what the core computes;
* the checks name the value they received and the rule it broke;
* no file of ``hadamrnn/core`` imports torch.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import hadamrnn
from hadamrnn import BlockSizeError, HadamRNNError, HiddenSizeError, SequenceTagger, core, hadamard, native
from hadamrnn.core import orders
from hadamrnn.export import IntegerSimulation, calibrate, fixed_point, quantize_model
from hadamrnn.export.simulation import fwht_int_torch
from hadamrnn.packing import PackingError
from hadamrnn.runtime import Runtime, fwht_int

CORE_DIR = Path(core.__file__).resolve().parent
ORDERS = [1 << k for k in range(11)]  # 1, 2, 4, ..., 1024
ORDER_AND_BLOCK = [(n, m) for n in ORDERS for m in ORDERS if m <= n]


def sylvester_by_definition(n: int) -> np.ndarray:
    """``(-1)^popcount(i & j)`` bit by bit: independent of the core's doubling construction."""
    index = np.arange(n, dtype=np.int64)
    both = index[:, None] & index[None, :]
    parity = np.zeros_like(both)
    while both.any():
        parity ^= both & 1
        both >>= 1
    return 1 - 2 * parity


def block_by_definition(n: int, m: int) -> np.ndarray:
    """``I_{n/m} ⊗ S_m`` entry by entry: ``S_m[i % m, j % m]`` when ``i`` and ``j`` share a block."""
    index = np.arange(n)
    same_block = (index[:, None] // m) == (index[None, :] // m)
    return np.where(same_block, np.tile(sylvester_by_definition(m), (n // m, n // m)), 0)


def integer_rows(n: int, seed: int, low: int = -(2**15), high: int = 2**15, rows: int = 5) -> np.ndarray:
    return np.random.default_rng(seed).integers(low, high, size=(rows, n), dtype=np.int64)


class TestSylvesterIsTheDefinition:
    @pytest.mark.parametrize("n", ORDERS)
    def test_entries(self, n):
        s = core.sylvester(n)
        assert s.dtype == np.int64 and s.shape == (n, n)
        assert np.array_equal(s, sylvester_by_definition(n))

    @pytest.mark.parametrize("n", ORDERS[:-1])  # the int64 product of order 1024 takes seconds
    def test_symmetric_and_squares_to_n_identity(self, n):
        s = core.sylvester(n)
        assert np.array_equal(s, s.T)
        assert np.array_equal(s @ s, n * np.eye(n, dtype=np.int64))

    @pytest.mark.parametrize("dtype", [np.int8, np.int32, np.float64])
    def test_dtype(self, dtype):
        s = core.sylvester(8, dtype)
        assert s.dtype == dtype
        assert np.array_equal(s, sylvester_by_definition(8))

    def test_a_new_array_every_call(self):
        first = core.sylvester(4)
        first[0, 0] = 7
        assert core.sylvester(4)[0, 0] == 1

    @pytest.mark.parametrize("n", [0, 3, 6, 12, 96, -4])
    def test_rejects_orders_that_are_not_powers_of_two(self, n):
        with pytest.raises(HiddenSizeError, match=rf"n must be a power of two \(.*\), got {n}$"):
            core.sylvester(n)


class TestBlockAndSignedMatrices:
    @pytest.mark.parametrize(("n", "m"), ORDER_AND_BLOCK)
    def test_block_sylvester_is_the_definition(self, n, m):
        assert np.array_equal(core.block_sylvester(n, m), block_by_definition(n, m))

    @pytest.mark.parametrize(("n", "m"), [(12, 4), (96, 32), (3, 1), (192, 64)])
    def test_any_number_of_blocks(self, n, m):
        assert np.array_equal(core.block_sylvester(n, m), block_by_definition(n, m))

    def test_no_block_size_is_one_block(self):
        assert np.array_equal(core.block_sylvester(16, None), sylvester_by_definition(16))

    @pytest.mark.parametrize(("n", "m"), [(n, m) for n, m in ORDER_AND_BLOCK if n <= 256])
    def test_signed_matrix_is_diag_u_times_the_block_matrix(self, n, m):
        signs = 1 - 2 * np.random.default_rng(n + m).integers(0, 2, n)
        signed = core.signed_block_sylvester(signs, m)
        assert np.array_equal(signed, np.diag(signs) @ block_by_definition(n, m))
        # sqrt(m) W with W orthogonal: (sqrt(m) W)(sqrt(m) W)^T = m I, exactly in integers
        assert np.array_equal(signed @ signed.T, m * np.eye(n, dtype=np.int64))
        assert np.array_equal(np.count_nonzero(signed, axis=1), np.full(n, m))

    def test_signed_matrix_of_python_integers(self):
        signed = core.signed_block_sylvester([1, -1, 1, -1], 2, dtype=object)
        assert signed.dtype == object
        assert signed.tolist() == [[1, 1, 0, 0], [-1, 1, 0, 0], [0, 0, 1, 1], [0, 0, -1, 1]]

    def test_torch_matrices_are_the_core_matrices(self):
        assert np.array_equal(hadamard.sylvester(64).numpy(), core.sylvester(64))
        assert np.array_equal(hadamard.block_sylvester(64, 8).numpy(), core.block_sylvester(64, 8))
        assert hadamard.sylvester(8, dtype=torch.float32).dtype == torch.float32


class TestIntegerFWHTIsTheDenseProduct:
    @pytest.mark.parametrize(("n", "m"), ORDER_AND_BLOCK)
    def test_every_order_and_block_size(self, n, m):
        x = integer_rows(n, seed=n * 7 + m)
        assert np.array_equal(core.fwht_int(x, m), x @ block_by_definition(n, m))

    @pytest.mark.parametrize("n", ORDERS)
    def test_no_block_size_is_the_full_transform(self, n):
        x = integer_rows(n, seed=n)
        assert np.array_equal(core.fwht_int(x), x @ sylvester_by_definition(n))

    @pytest.mark.parametrize(("n", "m"), [(12, 4), (96, 32), (3, 1)])
    def test_any_number_of_blocks(self, n, m):
        x = integer_rows(n, seed=n)
        assert np.array_equal(core.fwht_int(x, m), x @ block_by_definition(n, m))

    def test_int32_is_kept_and_exact_within_its_bound(self):
        # 16-bit codes and m = 2^15: |y| <= 2^15 (2^15 - 1) < 2^31
        x = np.full((2, 1 << 15), 2**15 - 1, dtype=np.int32)
        y = core.fwht_int(x)
        assert y.dtype == np.int32
        assert int(y[0, 0]) == (1 << 15) * (2**15 - 1)
        assert not y[:, 1:].any()

    def test_python_integers_are_unbounded(self):
        x = np.array([[2**70, 1, -(2**70), 3]], dtype=object)
        expected = x @ sylvester_by_definition(4).astype(object)
        assert core.fwht_int(x).tolist() == expected.tolist()

    def test_leading_axes_layout_and_input_are_kept(self):
        x = np.random.default_rng(0).integers(-99, 99, size=(64, 3, 4))
        transposed = x.transpose(1, 2, 0)  # (3, 4, 64), not contiguous
        before = transposed.copy()
        y = core.fwht_int(transposed, 16)
        assert y.shape == (3, 4, 64)
        assert np.array_equal(y, transposed @ block_by_definition(64, 16))
        assert np.array_equal(transposed, before)

    def test_the_identity_block_returns_a_copy(self):
        x = np.arange(8)
        y = core.fwht_int(x, 1)
        y[0] = 99
        assert x[0] == 0

    def test_sequences_and_empty_batches(self):
        assert core.fwht_int([1, 2, 3, 4], 2).tolist() == [3, -1, 7, -1]
        assert core.fwht_int(np.zeros((0, 8), dtype=np.int64)).shape == (0, 8)

    def test_involution(self):
        x = integer_rows(256, seed=1)
        assert np.array_equal(core.fwht_int(core.fwht_int(x)), 256 * x)

    def test_errors(self):
        with pytest.raises(HiddenSizeError, match=r"the size of the last axis must be a supported Hadamard order .*got 100"):
            core.fwht_int(np.ones((2, 100), dtype=np.int64))
        with pytest.raises(BlockSizeError, match=r"dividing hidden_size=8 .*got 3"):
            core.fwht_int(np.ones((2, 8), dtype=np.int64), 3)
        with pytest.raises(HadamRNNError, match="scalar"):
            core.fwht_int(np.int64(3))


class TestEveryTransformAgreesWithTheCore:
    @pytest.mark.parametrize(("n", "m"), ORDER_AND_BLOCK)
    def test_torch_float64_fwht(self, n, m):
        # integers below 2^53 are exact in float64, and so is every partial sum here
        x = integer_rows(n, seed=n + 3 * m)
        y = hadamard.fwht(torch.from_numpy(x).to(torch.float64), block_size=m)
        assert np.array_equal(y.numpy(), core.fwht_int(x, m).astype(np.float64))

    @pytest.mark.skipif(not native.is_available(), reason="needs the C extension")
    @pytest.mark.parametrize(("n", "m"), ORDER_AND_BLOCK)
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_native_fwht(self, n, m, dtype):
        # |y| <= 1024 * 100 < 2^24: exact in float32 too
        x = integer_rows(n, seed=n + 5 * m, low=-100, high=101)
        signs = 1 - 2 * np.random.default_rng(n * m).integers(0, 2, n)
        y = native.fwht_native(torch.from_numpy(x).to(dtype), torch.from_numpy(signs).to(dtype), 1.0, m)
        assert np.array_equal(y.numpy(), (core.fwht_int(x, m) * signs).astype(y.numpy().dtype))

    @pytest.mark.skipif(not native.is_available(), reason="needs the C extension")
    @pytest.mark.parametrize(("n", "m"), [(64, 64), (64, 8), (128, 2), (8, 1)])
    def test_native_recurrence_applies_the_core_scale(self, n, m):
        # one step from h0 with U x = 0 and no bias: h_1 = W h0 = diag(u)(I ⊗ S_m) h0 / sqrt(m)
        rng = np.random.default_rng(n + m)
        h0 = rng.standard_normal((3, n))
        signs = 1 - 2 * rng.integers(0, 2, n).astype(np.float64)
        h1 = native.hadamard_recurrence_native(
            torch.zeros(3, 1, 2, dtype=torch.float64), torch.from_numpy(h0), torch.from_numpy(signs),
            torch.zeros(n, 2, dtype=torch.float64), None, m,
        )[:, 0]
        expected = h0 @ core.signed_block_sylvester(signs, m, dtype=np.float64).T * core.hadamard_scale(m)
        atol = 10 * n * np.finfo(np.float64).eps * np.abs(h0).max()
        np.testing.assert_allclose(h1.numpy(), expected, rtol=0, atol=atol)

    def test_runtime_and_simulation_use_the_core_transform(self):
        assert fwht_int is core.fwht_int
        assert fwht_int_torch is core.fwht_int

    @pytest.mark.parametrize(("n", "m"), [(64, 64), (64, 16), (16, 2), (8, 1)])
    def test_integer_fwht_on_torch_tensors(self, n, m):
        x = integer_rows(n, seed=n - m)
        y = fwht_int_torch(torch.from_numpy(x), m)
        assert y.dtype == torch.int64
        assert np.array_equal(y.numpy(), x @ block_by_definition(n, m))

    @pytest.mark.parametrize(("n", "m"), [(16, 16), (16, 4), (32, 2), (8, 8)])
    def test_runtime_and_simulation_steps_are_the_core_dense_step(self, n, m):
        """With ``U = 0`` the input term is a constant ``z`` and every step is
        ``h' = saturate(rescale(diag(u)(I ⊗ S_m) h + z, 1/sqrt(m)))``, computed here from the core's
        dense matrix and its fixed-point ``1/sqrt(m)``."""
        torch.manual_seed(n + m)
        model = SequenceTagger(3, n, 4, block_size=m, backend="reference").eval()
        quantized = quantize_model(model, calibrate(model, [torch.randn(8, 6, 3)]), hidden_bits=16)
        quantized = dataclasses.replace(quantized, input_weight=np.zeros_like(quantized.input_weight))
        quantized = quantized.validate(ValueError)
        dense = core.signed_block_sylvester(quantized.signs, m)
        multiplier, shift = core.hadamard_scale_fixed_point(m)
        limit = quantized.input_term_limit
        z = quantized.input_rescale.apply(quantized.input_bias.astype(np.int64)).clip(-limit, limit)
        state = np.zeros((2, n), dtype=np.int64)
        expected = []
        for _ in range(5):
            state = fixed_point.saturate(fixed_point.rescale(state @ dense.T + z, multiplier, shift), 16)
            expected.append(state)
        codes = np.zeros((2, 5, 3), dtype=np.int64)
        assert np.array_equal(Runtime(quantized).run(codes).state, expected[-1])
        simulated = IntegerSimulation(quantized).run(torch.from_numpy(codes)).state
        assert np.array_equal(simulated.numpy(), expected[-1])
        assert any(state.any() for state in expected)  # the steps did move the state


class TestScale:
    @pytest.mark.parametrize("k", range(0, 21))
    def test_float_scale_and_norm(self, k):
        m = 1 << k
        assert core.hadamard_scale(m) == 1.0 / math.sqrt(m)
        assert core.hadamard_norm(m) == math.sqrt(m)
        assert hadamrnn.hadamard_scale is core.hadamard_scale

    @pytest.mark.parametrize("m", [12, 20, 24, 96, 384, 252, 200 << 10, 3 << 18])
    def test_fixed_point_scale_of_other_orders(self, m):
        multiplier, shift = core.hadamard_scale_fixed_point(m)
        # never a power of four, so never an exact shift: M = round(2^s / sqrt(m)), 31 bits
        assert (2 * multiplier - 1) ** 2 * m < 4 ** (shift + 1) < (2 * multiplier + 1) ** 2 * m
        assert 1 << 30 <= multiplier < 1 << 31
        assert abs(math.ldexp(multiplier, -shift) * math.sqrt(m) - 1) < 2**-30
        assert core.hadamard_scale(m) == 1.0 / math.sqrt(m)

    @pytest.mark.parametrize("k", range(0, 21))
    def test_fixed_point_scale(self, k):
        multiplier, shift = core.hadamard_scale_fixed_point(1 << k)
        if k % 2 == 0:
            assert (multiplier, shift) == (1, k // 2)  # an exact shift
        else:
            # M = round(2^s / sqrt(m)): (2M - 1)^2 m < 4^(s+1) < (2M + 1)^2 m, exactly in integers
            assert (2 * multiplier - 1) ** 2 << k < 4 ** (shift + 1) < (2 * multiplier + 1) ** 2 << k
            assert 1 << 30 <= multiplier < 1 << 31
        assert fixed_point.inverse_sqrt_rescale(1 << k) == fixed_point.Rescale(multiplier, shift)

    @pytest.mark.parametrize("function", [core.hadamard_scale, core.hadamard_norm, core.hadamard_scale_fixed_point])
    def test_rejects_block_sizes_that_are_not_supported_orders(self, function):
        with pytest.raises(BlockSizeError, match=r"block_size must be a supported Hadamard order .*, got 100; the nearest supported sizes are 96 and 104"):
            function(100)


class TestOrderChecks:
    def test_hidden_size_message_names_the_value_the_rule_and_the_nearest_sizes(self):
        with pytest.raises(HiddenSizeError) as raised:
            core.check_hidden_size(100)
        assert str(raised.value) == (
            "hidden_size must be a supported Hadamard order r * 2^k with r in BASE_ORDERS = "
            "(1, 12, 20, 28, 36, 44, ..., 252), got 100; the nearest supported sizes are 96 and 104"
        )

    def test_block_size_message_names_the_value_the_rule_and_the_nearest_sizes(self):
        with pytest.raises(BlockSizeError) as raised:
            core.check_block_size(16, 3)
        assert str(raised.value) == (
            "block_size must be a supported Hadamard order dividing hidden_size=16 (1, 2, 4, 8, 16), got 3; "
            "the nearest allowed block sizes are 2 and 4"
        )
        with pytest.raises(BlockSizeError, match=r"hidden_size=12 \(1, 2, 4, 12\), got 8; the nearest allowed block sizes are 4 and 12$"):
            core.check_block_size(12, 8)
        with pytest.raises(BlockSizeError, match=r"hidden_size=2 \(1, 2\), got 4; the nearest allowed block size is 2$"):
            core.check_block_size(2, 4)
        with pytest.raises(BlockSizeError, match=r"hidden_size=384 \(1, 2, 4, 8, ..., 192, 384\), got 20; the nearest allowed block sizes are 16 and 24$"):
            core.check_block_size(384, 20)

    @pytest.mark.parametrize("block_size", [0, -2, 3, 32, 12, 2.0, True, "4"])
    def test_bad_block_sizes(self, block_size):
        nearest = "; the nearest allowed block size" if isinstance(block_size, int) and not isinstance(block_size, bool) else ""
        with pytest.raises(BlockSizeError, match=f"got {block_size!r}{nearest}"):
            core.check_block_size(16, block_size)

    @pytest.mark.parametrize("n", [0, -4, 3, 52, 100, 4.0, True, None])
    def test_bad_hidden_sizes(self, n):
        with pytest.raises(HiddenSizeError, match=f"got {n!r}"):
            core.check_hidden_size(n)

    @pytest.mark.parametrize(
        ("n", "ending"),
        [
            (100, "got 100; the nearest supported sizes are 96 and 104"),
            (52, "got 52; the nearest supported sizes are 48 and 56"),
            (3, "got 3; the nearest supported sizes are 2 and 4"),
            (0, "got 0; the nearest supported size is 1"),
            (-4, "got -4; the nearest supported size is 1"),
            (4.0, "got 4.0"),
        ],
    )
    def test_hidden_size_message_ends_with_the_nearest_supported_sizes(self, n, ending):
        with pytest.raises(HiddenSizeError) as raised:
            core.check_hidden_size(n)
        assert str(raised.value).endswith(ending)

    def test_valid_values_come_back_as_python_ints(self):
        assert core.check_hidden_size(np.int64(64)) == 64 and type(core.check_hidden_size(np.int64(64))) is int
        assert core.check_block_size(64, np.int32(8)) == 8 and type(core.check_block_size(64, np.int32(8))) is int
        assert core.check_block_size(64, None) == 64

    def test_power_of_two(self):
        assert [n for n in range(-2, 70) if core.is_power_of_two(n)] == [1, 2, 4, 8, 16, 32, 64]
        assert core.is_power_of_two(np.int64(8)) and core.is_power_of_two(1 << 80)
        assert not any(core.is_power_of_two(v) for v in (True, 4.0, "4", None, np.float64(4)))

    def test_name_and_exception_type_are_the_callers(self):
        with pytest.raises(HiddenSizeError, match=r"^weight.shape\[0\] must be a supported Hadamard order .*got 100;"):
            core.check_hidden_size(100, "weight.shape[0]")
        with pytest.raises(PackingError, match="got 6"):
            core.check_block_size(12, 6, error=PackingError)
        with pytest.raises(PackingError, match="got 6"):
            core.check_sylvester_order(6, error=PackingError)

    def test_errors_are_value_errors(self):
        assert issubclass(HiddenSizeError, ValueError) and issubclass(BlockSizeError, ValueError)

    def test_the_base_orders_are_read_in_one_place(self, monkeypatch):
        # With the base orders 1 and 12 only, the hidden sizes are 2^k and 12 * 2^k everywhere that
        # checks a hidden size, while code that needs a Sylvester order still refuses 24.
        monkeypatch.setattr(orders, "BASE_ORDERS", (1, 12))
        assert [n for n in range(1, 100) if core.is_supported_order(n)] == [1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96]
        assert core.check_hidden_size(96) == 96
        assert core.available_orders(below=50) == (1, 2, 4, 8, 12, 16, 24, 32, 48)
        with pytest.raises(HiddenSizeError, match="got 40"):
            core.check_hidden_size(40)
        with pytest.raises(HiddenSizeError, match="got 20"):
            core.base_matrix(20)
        with pytest.raises(HiddenSizeError, match="got 24"):
            core.check_sylvester_order(24)
        with pytest.raises(HiddenSizeError, match="got 24"):
            core.sylvester(24)

    def test_one_function_behind_every_public_name(self):
        for name in ("is_power_of_two", "check_hidden_size", "check_block_size", "hadamard_scale"):
            assert getattr(hadamrnn, name) is getattr(hadamard, name) is getattr(core, name), name

    def test_the_layer_reports_the_core_message(self):
        with pytest.raises(HiddenSizeError, match=r"hidden_size must be a supported Hadamard order .*, got 100; the nearest supported sizes are 96 and 104$"):
            hadamrnn.HadamRNN(3, 100)
        with pytest.raises(BlockSizeError, match=r"dividing hidden_size=16 \(1, 2, 4, 8, 16\), got 6; the nearest allowed block sizes are 4 and 8$"):
            hadamrnn.HadamRNN(3, 16, block_size=6)


class TestCoreIsTorchFree:
    ALLOWED_TOP_LEVEL = {"numpy"} | set(sys.stdlib_module_names)
    ALLOWED_RELATIVE = {
        (1, ""), (1, "orders"), (1, "scale"), (1, "matrices"), (1, "transform"), (1, "jacobsthal"), (1, "paley_i"),
        (1, "paley_ii"), (1, "base_matrices"), (2, "errors"),
    }

    @staticmethod
    def imports_of(path: Path) -> list[tuple[int, str]]:
        """``(level, module)`` of every import node: level 0 for absolute imports."""
        found = []
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                found += [(0, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                found.append((node.level, node.module or ""))
        return found

    def test_every_import_of_the_core_is_numpy_the_standard_library_or_the_core(self):
        files = sorted(CORE_DIR.glob("*.py"))
        assert {path.name for path in files} >= {
            "__init__.py", "orders.py", "matrices.py", "scale.py", "transform.py", "jacobsthal.py", "paley_i.py",
            "paley_ii.py", "base_matrices.py",
        }
        for path in files:
            for level, module in self.imports_of(path):
                if level == 0:
                    assert module.split(".")[0] in self.ALLOWED_TOP_LEVEL, (path.name, module)
                else:
                    assert (level, module) in self.ALLOWED_RELATIVE, (path.name, level, module)

    def test_the_errors_the_core_raises_import_no_torch(self):
        for level, module in self.imports_of(CORE_DIR.parent / "errors.py"):
            assert level == 0 and module.split(".")[0] in self.ALLOWED_TOP_LEVEL, module

    def test_the_import_check_can_fail(self, tmp_path):
        bad = tmp_path / "bad.py"
        bad.write_text("import numpy\nfrom torch import nn\nif True:\n    import torch.nn.functional as F\n")
        assert [module for level, module in self.imports_of(bad) if module.startswith("torch")] == [
            "torch", "torch.nn.functional"
        ]

    def test_importing_the_core_loads_no_torch(self):
        code = (
            "import sys\n"
            "from hadamrnn import core\n"
            "assert core.fwht_int([1, 0], None).tolist() == [1, 1]\n"
            "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if m.startswith('torch'))\n"
        )
        subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
