"""Hidden sizes beyond powers of two: ``n = r · 2^k`` with a Paley base matrix ``H_r``.

* the base orders are exactly their rule, and every supported order splits in one way;
* each canonical ``H_r`` is a Hadamard matrix in normal form (integer ``==``), the Paley
  constructions equal the independent ones of the ``theory`` package, and a fingerprint pins every
  base matrix (a stored sign vector must mean the same ``W`` in every version);
* ``H_n = H_r ⊗ S_{2^k}`` entry by entry; ``√m·W`` is a ±1 (block-ternary) integer matrix (``==``)
  and ``WᵀW = I`` within ``10·n·eps``;
* the fast transforms (the core's integers, torch's floats, the C kernels in float32 and float64,
  AVX2 and portable) equal the dense product, forward and transposed;
* the recurrences of the reference and native backends equal the dense backend, outputs and every
  gradient, in float64, and pass ``torch.autograd.gradcheck``;
* ``HadamRNN(3, 96)`` and ``HadamRNN(3, 384, block_size=24)`` train on the native and reference
  backends and stay exactly on their set;
* an unsupported size is refused with the nearest supported sizes in the message.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
import torch

import hadamrnn
from hadamrnn import BlockSizeError, HadamRNN, HadamRNNError, HiddenSizeError, core, hadamard, native
from hadamrnn.core import orders
from hadamrnn.functional import dense_recurrence, hadamard_recurrence_reference
from hadamrnn.parametrizations import BlockHadamard

from helpers import orthogonality_atol

requires_extension = pytest.mark.skipif(
    not native.is_available(), reason=f"native extension not built: {native.unavailable_reason()}"
)

# Orders r · 2^k with r > 1 (and a few powers of two beside them), each with every block size it
# allows: small enough for dense float64 products, large enough for every code path (c = 1, 2, 4,
# 8 and more; Paley I and Paley II bases; n not a multiple of 8).
ORDERS = [12, 20, 24, 28, 36, 40, 44, 48, 60, 96, 104, 192, 200, 252, 384, 16]
ORDER_AND_BLOCK = [(n, m) for n in ORDERS for m in core.block_sizes(n) if n <= 200 or m in (1, 12, 24, n)]


def is_prime(q: int) -> bool:
    return q > 1 and all(q % d for d in range(2, math.isqrt(q) + 1))


def sylvester_by_definition(n: int) -> np.ndarray:
    index = np.arange(n)
    both = index[:, None] & index[None, :]
    parity = np.array([[bin(v).count("1") & 1 for v in row] for row in both])
    return 1 - 2 * parity


def hadamard_by_definition(n: int) -> np.ndarray:
    """Entry ``(a c + b, a' c + d)`` is ``H_r[a, a'] · (-1)^popcount(b & d)``, ``n = r c``."""
    r, c = core.split_order(n)
    base = core.base_matrix(r)
    index = np.arange(n)
    return base[np.ix_(index // c, index // c)] * sylvester_by_definition(c)[np.ix_(index % c, index % c)]


def block_by_definition(n: int, m: int) -> np.ndarray:
    index = np.arange(n)
    same_block = (index[:, None] // m) == (index[None, :] // m)
    return np.where(same_block, np.tile(hadamard_by_definition(m), (n // m, n // m)), 0)


def random_signs(n: int, seed: int) -> np.ndarray:
    return 1 - 2 * np.random.default_rng(seed).integers(0, 2, n)


class TestBaseOrders:
    def test_base_orders_follow_their_rule(self):
        """1, then for each odd o > 1 the smallest o · 2^a <= 256 that Paley I (r - 1 prime) or
        Paley II (r/2 - 1 prime, r ≡ 4 mod 8) builds from a prime."""
        smallest = {}
        for r in range(2, core.MAX_BASE_ORDER + 1):
            builds = is_prime(r - 1) and r % 4 == 0 or r % 8 == 4 and is_prime(r // 2 - 1)
            odd = r // (r & -r)
            if builds and odd > 1 and odd not in smallest:
                smallest[odd] = r
        assert core.BASE_ORDERS == (1, *sorted(smallest.values()))
        assert core.BASE_ORDERS[:6] == (1, 12, 20, 28, 36, 44)
        assert 52 not in core.BASE_ORDERS and 104 in core.BASE_ORDERS  # 52 needs GF(25)

    def test_every_order_splits_in_exactly_one_way(self):
        for n in range(1, 5000):
            splits = [(r, n // r) for r in core.BASE_ORDERS if n % r == 0 and core.is_power_of_two(n // r)]
            assert len(splits) <= 1, (n, splits)
            assert core.is_supported_order(n) == bool(splits)
            if splits:
                assert core.split_order(n) == splits[0]

    def test_available_orders_is_every_supported_order_below(self):
        expected = tuple(n for n in range(1, 2000) if core.is_supported_order(n))
        assert core.available_orders(below=2000) == expected
        assert hadamard.available_orders is core.available_orders
        assert {96, 192, 384, 12, 24} <= set(expected) and not {100, 52, 92} & set(expected)
        assert core.available_orders(below=1) == ()

    @pytest.mark.parametrize("n", [100, 52, 92, 3, 5, 1001, 10**6 + 1, 0, -7])
    def test_nearest_supported_orders(self, n):
        nearest = core.nearest_supported_orders(n)
        below = [v for v in range(1, n) if core.is_supported_order(v)] if n < 2000 else None
        if n < 1:
            assert nearest == (1,)
        elif below is not None:
            above = next(v for v in range(n + 1, 2 * n + 2) if core.is_supported_order(v))
            assert nearest == (below[-1], above)
        else:
            low, high = nearest
            assert low < n < high and core.is_supported_order(low) and core.is_supported_order(high)
            assert not any(core.is_supported_order(v) for v in range(low + 1, high))
        assert core.nearest_supported_orders(96) == (96,)

    def test_block_sizes(self):
        assert core.block_sizes(384) == (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 384)
        assert core.block_sizes(36) == (1, 2, 4, 12, 36)


class TestMessages:
    def test_hidden_size_100_names_the_nearest_supported_sizes(self):
        with pytest.raises(HiddenSizeError) as raised:
            HadamRNN(3, 100)
        message = str(raised.value)
        assert message.startswith("hidden_size must be a supported Hadamard order r * 2^k with r in BASE_ORDERS")
        assert message.endswith("got 100; the nearest supported sizes are 96 and 104")

    def test_block_size_names_the_nearest_allowed_sizes(self):
        with pytest.raises(BlockSizeError, match=r"dividing hidden_size=384 .*got 20; the nearest allowed block sizes are 16 and 24$"):
            HadamRNN(3, 384, block_size=20)
        with pytest.raises(BlockSizeError, match=r"dividing hidden_size=96 .*got 36; the nearest allowed block sizes are 32 and 48$"):
            HadamRNN(3, 96, block_size=36)  # 36 is a supported order, but does not divide 96

    def test_config_reports_the_same_message(self):
        with pytest.raises(hadamrnn.ConfigError, match="got 100; the nearest supported sizes are 96 and 104"):
            hadamrnn.parse_config({"model": {"hidden_size": 100}})
        assert hadamrnn.parse_config({"model": {"hidden_size": 384, "block_size": 24}}).model.block_size == 24


class TestBaseMatrices:
    @pytest.mark.parametrize("r", core.BASE_ORDERS)
    def test_hadamard_in_normal_form(self, r):
        h = core.base_matrix(r)
        assert h.dtype == np.int64 and h.shape == (r, r)
        assert np.isin(h, (1, -1)).all()
        assert np.array_equal(h @ h.T, r * np.eye(r, dtype=np.int64))
        assert (h[0] == 1).all() and (h[:, 0] == 1).all()
        name, q = core.base_construction(r)
        if name == "Paley II":
            assert np.array_equal(h, h.T)

    def test_h12_is_pinned(self):
        rows = [
            "++++++++++++", "+-+-+++---+-", "+--+-+++---+", "++--+-+++---", "+-+--+-+++--", "+--+--+-+++-",
            "+---+--+-+++", "++---+--+-++", "+++---+--+-+", "++++---+--+-", "+-+++---+--+", "++-+++---+--",
        ]
        expected = np.array([[1 if c == "+" else -1 for c in row] for row in rows])
        assert np.array_equal(core.base_matrix(12), expected)
        assert core.base_construction(12) == ("Paley I", 11)

    def test_every_base_matrix_is_pinned_by_its_fingerprint(self):
        digest = hashlib.sha256()
        for r in core.BASE_ORDERS:
            digest.update(core.base_matrix(r, np.int8).tobytes())
        assert digest.hexdigest() == "737cd9fcbe0121ac6fb3adb8751157b3ee8dd368715535676f681089fe413cee"

    def test_paley_i_normal_form_entries(self):
        """Entry (1 + a, 1 + b) of the normal form is χ(b - a) off the diagonal and -1 on it."""
        q = 43
        character = core.quadratic_character(q)
        h = core.base_matrix(q + 1)
        a, b = np.meshgrid(np.arange(q), np.arange(q), indexing="ij")
        assert np.array_equal(h[1:, 1:], np.where(a == b, -1, character[(b - a) % q]))

    @pytest.mark.parametrize("q", [3, 7, 11, 19, 23, 43, 251])
    def test_paley_i_equals_the_theory_construction(self, q):
        paley = pytest.importorskip("theory.paley")
        theirs = np.array(paley.paley_i(q))
        assert np.array_equal(core.paley_i(q), theirs)
        if q + 1 in core.BASE_ORDERS and core.base_construction(q + 1) == ("Paley I", q):
            assert np.array_equal(core.base_matrix(q + 1), core.normalize(theirs))

    @pytest.mark.parametrize("q", [5, 13, 17, 37, 61, 109])
    def test_paley_ii_equals_the_theory_construction(self, q):
        paley = pytest.importorskip("theory.paley")
        theirs = np.array(paley.paley_ii(q))
        assert np.array_equal(core.paley_ii(q), theirs)
        if 2 * (q + 1) in core.BASE_ORDERS and core.base_construction(2 * (q + 1)) == ("Paley II", q):
            assert np.array_equal(core.base_matrix(2 * (q + 1)), core.normalize(theirs))

    def test_jacobsthal_identities(self):
        for q in (7, 13):
            jacobsthal = core.jacobsthal_matrix(q)
            assert np.array_equal(jacobsthal @ jacobsthal.T, q * np.eye(q, dtype=np.int64) - np.ones((q, q), dtype=np.int64))
            assert np.array_equal(jacobsthal.T, (1 if q % 4 == 1 else -1) * jacobsthal)

    @pytest.mark.parametrize(
        ("construction", "q", "message"),
        [
            (core.paley_i, 5, "Paley I needs a prime q ≡ 3 mod 4, got q=5"),
            (core.paley_i, 15, "Paley I needs a prime q ≡ 3 mod 4, got q=15"),
            (core.paley_ii, 7, "Paley II needs a prime q ≡ 1 mod 4, got q=7"),
            (core.paley_ii, 25, "Paley II needs a prime q ≡ 1 mod 4, got q=25"),
            (core.quadratic_character, 2, "q must be an odd prime, got 2"),
        ],
    )
    def test_construction_errors(self, construction, q, message):
        with pytest.raises(HadamRNNError, match=message):
            construction(q)

    def test_unknown_base_orders_are_refused(self):
        with pytest.raises(HiddenSizeError, match="base order must be one of BASE_ORDERS .*got 24"):
            core.base_matrix(24)  # 24 = 12 · 2 is not a base order

    def test_a_new_array_every_call(self):
        first = core.base_matrix(20)
        first[0, 0] = 7
        assert core.base_matrix(20)[0, 0] == 1

    def test_normalize(self):
        h = core.paley_ii(5)
        normal = core.normalize(h)
        assert (normal[0] == 1).all() and (normal[:, 0] == 1).all()
        assert np.array_equal(normal @ normal.T, 12 * np.eye(12, dtype=np.int64))
        assert np.array_equal(core.normalize(normal), normal)


class TestMatrices:
    @pytest.mark.parametrize("n", ORDERS)
    def test_hadamard_is_the_kronecker_definition(self, n):
        h = core.hadamard(n)
        assert np.array_equal(h, hadamard_by_definition(n))
        assert np.array_equal(h @ h.T, n * np.eye(n, dtype=np.int64))
        assert np.array_equal(hadamard.hadamard(n).numpy(), h)

    @pytest.mark.parametrize(("n", "m"), [(n, m) for n, m in ORDER_AND_BLOCK if n <= 200])
    def test_signed_block_matrix_is_exactly_binary_or_ternary(self, n, m):
        signs = random_signs(n, n + m)
        signed = core.signed_block_hadamard(signs, m)  # sqrt(m) W
        assert np.array_equal(signed, np.diag(signs) @ block_by_definition(n, m))
        assert np.isin(signed, (-1, 0, 1)).all()
        assert np.array_equal(np.count_nonzero(signed, axis=1), np.full(n, m))
        assert np.array_equal(signed @ signed.T, m * np.eye(n, dtype=np.int64))
        assert np.array_equal(hadamard.block_hadamard(n, m).numpy(), block_by_definition(n, m))

    def test_sylvester_only_names_refuse_other_blocks(self):
        with pytest.raises(BlockSizeError, match="block_size must be a power of two"):
            core.block_sylvester(24, 12)
        with pytest.raises(HiddenSizeError, match="n must be a power of two"):
            core.block_sylvester(24, None)
        assert np.array_equal(core.block_sylvester(24, 8), block_by_definition(24, 8))

    def test_an_explicit_base_matrix(self):
        other = core.normalize(core.paley_ii(5))  # another Hadamard matrix of order 12
        assert not np.array_equal(other, core.base_matrix(12))
        h = core.hadamard(24, base=other)
        assert np.array_equal(h, np.kron(other, core.sylvester(2)))
        x = np.random.default_rng(0).integers(-50, 50, (3, 48))
        assert np.array_equal(core.fwht_int(x, 24, base=other), x @ core.block_hadamard(48, 24, base=other).T)
        with pytest.raises(hadamrnn.ShapeError, match="base must be an"):
            core.fwht_int(x, 24, base=core.base_matrix(20))


@pytest.mark.parametrize(("n", "m"), ORDER_AND_BLOCK)
class TestFastTransformIsTheDenseProduct:
    def test_core_integers(self, n, m):
        x = np.random.default_rng(n * 31 + m).integers(-(2**15), 2**15, (4, n))
        dense = block_by_definition(n, m)
        assert np.array_equal(core.fwht_int(x, m), x @ dense.T)
        assert np.array_equal(core.fwht_int(x, m, transpose=True), x @ dense)
        as_int32 = core.fwht_int(x.astype(np.int32), m)
        assert as_int32.dtype == np.int32 and np.array_equal(as_int32, x @ dense.T)
        as_tensor = core.fwht_int(torch.from_numpy(x), m)
        assert as_tensor.dtype == torch.int64 and np.array_equal(as_tensor.numpy(), x @ dense.T)

    def test_torch_float(self, n, m):
        dense = torch.from_numpy(block_by_definition(n, m)).double()
        integers = torch.randint(-1000, 1000, (3, n), generator=torch.Generator().manual_seed(n + m)).double()
        # integer inputs: every partial sum is an exact float64
        assert torch.equal(hadamard.fwht(integers, m), integers @ dense.T)
        assert torch.equal(hadamard.fwht(integers, m, transpose=True), integers @ dense)
        x = torch.randn(3, n, generator=torch.Generator().manual_seed(m), dtype=torch.float32)
        atol = orthogonality_atol(m, torch.float32) * float(x.abs().max())
        torch.testing.assert_close(hadamard.fwht(x, m), (x.double() @ dense.T).float(), rtol=0, atol=atol)

    @requires_extension
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_native(self, n, m, dtype):
        x = np.random.default_rng(n + 7 * m).integers(-100, 101, (3, n))  # |y| < 2^24: exact in float32
        signs = random_signs(n, n * m)
        dense = block_by_definition(n, m)
        expected = x @ dense.T * signs
        y = native.fwht_native(torch.from_numpy(x).to(dtype), torch.from_numpy(signs).to(dtype), 1.0, m)
        assert np.array_equal(y.numpy(), expected.astype(y.numpy().dtype))
        transposed = native.fwht_native(torch.from_numpy(x).to(dtype), None, 1.0, m, transpose=True)
        assert np.array_equal(transposed.numpy(), (x @ dense).astype(y.numpy().dtype))
        in_place = torch.from_numpy(x).to(dtype)
        native.fwht_native_(in_place, torch.from_numpy(signs).to(dtype), 1.0, m)
        assert torch.equal(in_place, y)


@requires_extension
class TestNativeBits:
    def test_fast_sets_and_portable_agree_bit_for_bit(self):
        """Every fast set this CPU has ('avx2', and 'avx512' where present) against portable."""
        if "avx2" not in native.available_instruction_sets():
            pytest.skip("needs a CPU with AVX2 and FMA")
        before = native.instruction_set()
        try:
            for n, m in ORDER_AND_BLOCK:
                x = torch.randn(3, n, generator=torch.Generator().manual_seed(n + m))
                signs = torch.from_numpy(random_signs(n, m)).float()
                native.set_instruction_set("portable")
                portable = native.fwht_native(x, signs, core.hadamard_scale(m), m)
                for isa in native.available_instruction_sets():
                    native.set_instruction_set(isa)
                    assert torch.equal(native.fwht_native(x, signs, core.hadamard_scale(m), m), portable), (n, m, isa)
        finally:
            native.set_instruction_set(before)

    @pytest.mark.parametrize(("n", "m"), [(96, 96), (384, 24), (36, 12)])
    def test_recurrence_bits_do_not_depend_on_the_build_or_the_threads(self, n, m):
        generator = torch.Generator().manual_seed(n)
        leaves = [
            torch.randn(5, 7, 2, generator=generator),
            torch.randn(5, n, generator=generator),
            torch.from_numpy(random_signs(n, 1)).float(),
            torch.randn(n, 2, generator=generator),
            torch.randn(n, generator=generator),
        ]
        grad = torch.randn(5, 7, n, generator=generator)

        def run():
            inputs = [leaf.clone().requires_grad_() for leaf in leaves]
            states = native.hadamard_recurrence_native(*inputs, m, "relu")
            return [states, *torch.autograd.grad(states, inputs, grad)]

        before_isa, before_threads = native.instruction_set(), torch.get_num_threads()
        try:
            torch.set_num_threads(1)
            first = run()
            torch.set_num_threads(2)
            results = [run()]
            for isa in native.available_instruction_sets():  # every build, the one in use included
                native.set_instruction_set(isa)
                results.append(run())
        finally:
            native.set_instruction_set(before_isa)
            torch.set_num_threads(before_threads)
        for other in results:
            assert all(torch.equal(a, b) for a, b in zip(first, other))

    def test_threads_do_not_change_the_bits(self):
        before = torch.get_num_threads()
        try:
            rows_per_worker = -(-native._kernels.FWHT_MIN_ELEMENTS_PER_WORKER // 384)
            x = torch.randn(2 * rows_per_worker + 3, 384)  # two workers at two threads
            torch.set_num_threads(1)
            one = native.fwht_native(x, None, 1.0, 24)
            torch.set_num_threads(2)
            assert torch.equal(native.fwht_native(x, None, 1.0, 24), one)
        finally:
            torch.set_num_threads(before)


def dense_weight(signs: torch.Tensor, n: int, m: int) -> torch.Tensor:
    pattern = torch.from_numpy(block_by_definition(n, m)).to(signs.dtype)
    return signs[:, None] * pattern * core.hadamard_scale(m)


RECURRENCE_SIZES = [(96, 96), (384, 24), (12, 12), (48, 12), (96, 32), (40, 20)]


@pytest.mark.parametrize("recurrence", ["linear", "relu"])
@pytest.mark.parametrize(("n", "m"), RECURRENCE_SIZES)
class TestRecurrenceGradients:
    """Float64: the reference (fast transform) and native backends against the dense product."""

    def leaves(self, n, seed=0, d=2, batch=3, steps=6):
        generator = torch.Generator().manual_seed(seed + n)
        values = {
            "x": torch.randn(batch, steps, d, generator=generator, dtype=torch.float64),
            "h0": torch.randn(batch, n, generator=generator, dtype=torch.float64),
            "signs": (torch.randint(0, 2, (n,), generator=generator) * 2 - 1).double(),
            "weight_ih": torch.randn(n, d, generator=generator, dtype=torch.float64),
            "bias": torch.randn(n, generator=generator, dtype=torch.float64) * 0.1,
        }
        return {name: value.requires_grad_() for name, value in values.items()}

    def outputs_and_gradients(self, function, leaves):
        states = function(**leaves)
        grad = torch.randn(states.shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
        return states, torch.autograd.grad(states, list(leaves.values()), grad)

    def dense(self, n, m, recurrence):
        def run(x, h0, signs, weight_ih, bias):
            return dense_recurrence(x, h0, dense_weight(signs, n, m), weight_ih, bias, recurrence)

        return run

    def test_reference_equals_dense(self, n, m, recurrence):
        leaves = self.leaves(n)

        def reference(x, h0, signs, weight_ih, bias):
            return hadamard_recurrence_reference(x, h0, signs, weight_ih, bias, m, recurrence)

        self.assert_same(self.outputs_and_gradients(reference, leaves), self.outputs_and_gradients(self.dense(n, m, recurrence), leaves), n)

    @requires_extension
    def test_native_equals_dense(self, n, m, recurrence):
        leaves = self.leaves(n)

        def run_native(x, h0, signs, weight_ih, bias):
            return native.hadamard_recurrence_native(x, h0, signs, weight_ih, bias, m, recurrence)

        self.assert_same(self.outputs_and_gradients(run_native, leaves), self.outputs_and_gradients(self.dense(n, m, recurrence), leaves), n)

    @staticmethod
    def assert_same(actual, expected, n):
        atol = 1000 * orthogonality_atol(n, torch.float64)  # 6 steps, sums of n terms of size ~10
        torch.testing.assert_close(actual[0], expected[0], rtol=0, atol=atol)
        for name, got, want in zip(("x", "h0", "signs", "weight_ih", "bias"), actual[1], expected[1]):
            torch.testing.assert_close(got, want, rtol=0, atol=atol * max(1.0, float(want.abs().max())), msg=name)


@pytest.mark.parametrize(("hidden_size", "block_size"), [(96, None), (384, 24), (48, 12)])
def test_layer_gradients_equal_the_dense_backend(hidden_size, block_size):
    """One float64 HadamRNN run on every backend: the same outputs and the same gradients of the
    latent signs (through the STE), of U and of b as ``backend="dense"``, which materialises W."""
    torch.manual_seed(hidden_size)
    rnn = HadamRNN(3, hidden_size, block_size=block_size, input_bits=None).double()
    x = torch.randn(4, 6, 3, dtype=torch.float64)
    grad = torch.randn(4, 6, hidden_size, dtype=torch.float64)
    parameters = [rnn.latent_signs, rnn.input_proj.weight, rnn.input_proj.bias]
    results = {}
    for backend in ["dense", "reference"] + (["native"] if native.is_available() else []):
        rnn.backend = backend
        outputs = rnn(x)[0]
        results[backend] = [outputs.detach(), *torch.autograd.grad(outputs, parameters, grad)]
    atol = 1000 * orthogonality_atol(hidden_size, torch.float64)
    for backend, values in results.items():
        for got, want in zip(values, results["dense"]):
            torch.testing.assert_close(got, want, rtol=0, atol=atol * max(1.0, float(want.abs().max())), msg=backend)
    assert float(results["dense"][1].abs().max()) > 0  # the signs do receive a gradient


@requires_extension
class TestGradcheck:
    @pytest.mark.parametrize("output", ["states", "last", "logits"])
    @pytest.mark.parametrize(("n", "m"), [(12, 12), (24, 12), (20, 20)])
    def test_native_recurrence(self, n, m, output):
        generator = torch.Generator().manual_seed(n + m)
        x = torch.randn(2, 3, 2, generator=generator, dtype=torch.float64, requires_grad=True)
        h0 = torch.randn(2, n, generator=generator, dtype=torch.float64, requires_grad=True)
        signs = torch.randn(n, generator=generator, dtype=torch.float64, requires_grad=True)
        weight_ih = torch.randn(n, 2, generator=generator, dtype=torch.float64, requires_grad=True)
        bias = torch.randn(n, generator=generator, dtype=torch.float64, requires_grad=True)
        readout = torch.randn(3, n, generator=generator, dtype=torch.float64, requires_grad=True)
        tensors = [x, h0, signs, weight_ih, bias] + ([readout] if output == "logits" else [])

        def run(*values):
            extra = {"readout_weight": values[5]} if output == "logits" else {}
            return native.hadamard_recurrence_native(*values[:5], m, "relu", output=output, **extra)

        assert torch.autograd.gradcheck(run, tensors)

    def test_native_tokens(self):
        generator = torch.Generator().manual_seed(0)
        tokens = torch.randint(0, 5, (2, 4), generator=generator)
        h0 = torch.randn(2, 24, generator=generator, dtype=torch.float64, requires_grad=True)
        signs = torch.randn(24, generator=generator, dtype=torch.float64, requires_grad=True)
        weight_ih = torch.randn(24, 5, generator=generator, dtype=torch.float64, requires_grad=True)

        def run(h, u, w):
            return native.hadamard_recurrence_tokens_native(tokens, h, u, w, None, 24, "linear")

        assert torch.autograd.gradcheck(run, [h0, signs, weight_ih])

    @pytest.mark.parametrize("transpose", [False, True])
    def test_transforms(self, transpose):
        x = torch.randn(2, 48, dtype=torch.float64, requires_grad=True)
        signs = torch.randn(48, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(lambda t: hadamard.fwht(t, 24, transpose=transpose), (x,))
        assert torch.autograd.gradcheck(lambda t, u: native.fwht_native(t, u, 0.2, 24, transpose=transpose), (x, signs))
        assert torch.autograd.gradgradcheck(lambda t, u: native.fwht_native(t, u, 0.2, 12, transpose=transpose), (x, signs))


def assert_on_the_set(rnn: HadamRNN) -> None:
    """``W`` is exactly ``scale · diag(u) (I ⊗ H_m)`` with the core's pattern: its entry signs form
    the integer matrix ``√m·W`` (±1 or 0, ``==``), and ``WᵀW = I`` within ``10·n·eps``."""
    n, m = rnn.hidden_size, rnn.recurrent.block_size
    weight = rnn.weight_hh.detach()
    integer = torch.sign(weight).to(torch.int64)  # sqrt(m) W
    signs = rnn.signs().detach().to(torch.int64)
    assert torch.equal(integer, signs[:, None] * torch.from_numpy(core.block_hadamard(n, m)))
    assert torch.equal(weight, integer.to(weight.dtype) * torch.tensor(core.hadamard_scale(m), dtype=weight.dtype))
    assert torch.equal(integer @ integer.T, m * torch.eye(n, dtype=torch.int64))
    wide = weight.double()
    eye = torch.eye(n, dtype=torch.float64)
    atol = orthogonality_atol(n, torch.float32)  # the entries are float32 roundings of 1/sqrt(m)
    torch.testing.assert_close(wide.T @ wide, eye, rtol=0, atol=atol)
    torch.testing.assert_close(wide @ wide.T, eye, rtol=0, atol=atol)
    assert rnn.recurrent.in_manifold(weight)


@pytest.mark.parametrize(("hidden_size", "block_size"), [(96, None), (384, 24)])
class TestTraining:
    @pytest.mark.parametrize("backend", ["reference", pytest.param("native", marks=requires_extension)])
    def test_trains_a_few_steps_and_stays_on_the_set(self, hidden_size, block_size, backend):
        torch.manual_seed(0)
        rnn = HadamRNN(input_size=3, hidden_size=hidden_size, block_size=block_size, backend=backend)
        head = torch.nn.Linear(hidden_size, 1)
        optimizer = torch.optim.Adam([*rnn.parameters(), *head.parameters()], lr=0.05)
        x, target = torch.randn(8, 12, 3), torch.randn(8, 1)
        assert_on_the_set(rnn)
        before = rnn.signs().detach().clone()
        losses = []
        for _ in range(5):
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(head(torch.relu(rnn.last_state(x))), target)
            loss.backward()
            assert rnn.latent_signs.grad is not None and bool(rnn.latent_signs.grad.abs().sum() > 0)
            optimizer.step()
            losses.append(loss.item())
            assert_on_the_set(rnn)
        assert all(math.isfinite(value) for value in losses)
        assert losses[-1] < losses[0]
        assert not torch.equal(rnn.signs().detach(), before)  # signs did flip

    @requires_extension
    def test_native_and_reference_agree(self, hidden_size, block_size):
        torch.manual_seed(1)
        rnn = HadamRNN(3, hidden_size, block_size=block_size, backend="native")
        x = torch.randn(4, 9, 3)
        native_out = rnn(x)[0]
        rnn.backend = "reference"
        reference_out = rnn(x)[0]
        torch.testing.assert_close(native_out, reference_out, rtol=1e-5, atol=1e-5)
        rnn.backend = "auto"
        assert native.resolve_backend(rnn.backend, x) == "native"  # no fallback for r > 1

    def test_repr_names_the_base_matrix(self, hidden_size, block_size):
        rnn = HadamRNN(3, hidden_size, block_size=block_size)
        m = block_size or hidden_size
        r, c = core.split_order(m)
        assert f"H_{m}=H_{r} ⊗ S_{c} (Paley I, q=11)" in repr(rnn)

    def test_the_pattern_is_not_saved(self, hidden_size, block_size):
        rnn = HadamRNN(3, hidden_size, block_size=block_size)
        assert set(rnn.state_dict()) == {"input_proj.weight", "input_proj.bias", "parametrizations.weight_hh.original"}
        restored = HadamRNN(3, hidden_size, block_size=block_size)
        restored.load_state_dict(rnn.state_dict())
        assert torch.equal(restored.weight_hh, rnn.weight_hh)


def test_right_inverse_round_trip_is_exact():
    for n, m in [(96, 96), (384, 24), (60, 20)]:
        parametrization = BlockHadamard(n, m)
        weight = parametrization(torch.from_numpy(random_signs(n, n)).float())
        assert torch.equal(parametrization(parametrization.right_inverse(weight)), weight)
        assert parametrization.in_manifold(weight)
        assert not parametrization.in_manifold(weight.flip(1))


def test_model_size_counts_n_sign_bits():
    size = hadamrnn.model_size(hadamrnn.SequenceTagger(3, 96, 4))
    assert size.rows[0].bits == 96


def test_orders_read_at_call_time(monkeypatch):
    monkeypatch.setattr(orders, "BASE_ORDERS", (1,))
    with pytest.raises(HiddenSizeError, match="got 96; the nearest supported sizes are 64 and 128"):
        HadamRNN(3, 96)


def test_the_library_never_imports_theory():
    """The ``theory`` package checks the library; the library must not depend on it."""
    import ast
    from pathlib import Path

    package = Path(hadamrnn.__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            assert not any(name.split(".")[0] == "theory" for name in names), path
