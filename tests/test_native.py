"""Tests of the native kernels (``hadamrnn.native``) against the pure-torch reference.

Tolerance policy of this file:

* the native float32 path against the reference run in float64 on the same values: relative error
  in norm, ``‖native − reference‖ / ‖reference‖ <= 1e-5``, for outputs and every gradient (or
  8 times the float32 reference's own error, for a gradient whose sum cancels so heavily that
  no float32 computation reaches 1e-5);
* the native float64 path against the float64 reference: the same with ``1e-12``;
* integer-valued transforms, the AVX2 path against the portable one, repeated runs and different
  thread counts: bit for bit (``torch.equal``).

The kernel tests are skipped only when the extension is not built; ``TestBuild`` then says whether
that was asked for (``HADAMRNN_NO_EXTENSION``) or is a broken build. The fallback tests at the end
run in both configurations.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import warnings

import pytest
import torch
import torch.nn.functional as F

from hadamrnn import HadamRNN, HadamRNNError, ShapeError, native, parse_config
from hadamrnn.functional import hadamard_recurrence_reference, hadamard_recurrence_reversible_reference
from hadamrnn.hadamard import fwht

requires_extension = pytest.mark.skipif(
    not native.is_available(), reason=f"native extension not built: {native.unavailable_reason()}"
)

requires_avx2 = pytest.mark.skipif(
    not native.is_available() or "avx2" not in native.available_instruction_sets(),
    reason="needs the native extension on a CPU with AVX2 and FMA",
)

requires_avx512 = pytest.mark.skipif(
    not native.is_available() or "avx512" not in native.available_instruction_sets(),
    reason="needs the native extension on a CPU with AVX-512 F, DQ and VL (the 'avx512' set)",
)

# The fast float32 sets, each checked bit for bit against the portable one; 'avx512' only where the
# CPU has it.
FAST_SETS = [
    pytest.param("avx2", marks=requires_avx2),
    pytest.param("avx512", marks=requires_avx512),
]

FLOAT32_RTOL = 1e-5
FLOAT64_RTOL = 1e-12


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """``‖actual − expected‖ / ‖expected‖`` in float64 (the absolute error when ``expected`` is 0)."""
    actual, expected = actual.detach().double(), expected.detach().double()
    scale = expected.norm().item()
    difference = (actual - expected).norm().item()
    return difference / scale if scale else difference


def assert_relative_close(actual: torch.Tensor, expected: torch.Tensor, rtol: float, what: str = "") -> None:
    assert actual.shape == expected.shape, f"{what}: shape {tuple(actual.shape)} != {tuple(expected.shape)}"
    error = relative_error(actual, expected)
    assert error <= rtol, f"{what}: relative error {error:.3e} > {rtol:.0e}"


def random_signs(n: int, generator: torch.Generator, dtype=torch.float32) -> torch.Tensor:
    return (torch.randint(0, 2, (n,), generator=generator) * 2 - 1).to(dtype)


def all_block_sizes(n: int) -> list[int]:
    return [1 << j for j in range(n.bit_length())]


@pytest.fixture
def instruction_set():
    """Restores the process-wide instruction set after a test that changes it."""
    before = native.instruction_set()
    yield native.set_instruction_set
    native.set_instruction_set(before)


@pytest.fixture
def thread_pool():
    """Restores the process-wide thread pool of the kernels after a test that changes it."""
    before = native.thread_pool()
    yield native.set_thread_pool
    native.set_thread_pool(before)


@pytest.fixture
def threads():
    """Restores torch's thread count after a test that changes it."""
    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)


# ------------------------------------------------------------------------------------------------
# A recurrence problem and its two evaluations
# ------------------------------------------------------------------------------------------------

KINDS = ("features", "tokens", "projected")
OUTPUTS = ("states", "last", "logits")
READOUT_SIZE = 5


def make_problem(n, m, batch, steps, kind="features", width=3, seed=0, dtype=torch.float32, bias=True):
    """Inputs of one recurrence: ``inputs`` are features ``(B, T, d)``, token ids ``(B, T)``, or
    features wide enough (``d = 20``) to take the projected path of the native function."""
    generator = torch.Generator().manual_seed(seed)
    if kind == "projected":
        width = native.INLINE_PROJECTION_MAX_WIDTH + 4
    if kind == "tokens":
        inputs = torch.randint(0, width, (batch, steps), generator=generator)
    else:
        inputs = torch.randn(batch, steps, width, generator=generator, dtype=dtype)
    return {
        "inputs": inputs,
        "h0": torch.randn(batch, n, generator=generator, dtype=dtype),
        "signs": random_signs(n, generator, dtype),
        "weight_ih": torch.randn(n, width, generator=generator, dtype=dtype) * 0.5,
        "bias": torch.randn(n, generator=generator, dtype=dtype) * 0.1 if bias else None,
        "readout_weight": torch.randn(READOUT_SIZE, n, generator=generator, dtype=dtype) * 0.3,
        "readout_bias": torch.randn(READOUT_SIZE, generator=generator, dtype=dtype) * 0.1 if bias else None,
        "block_size": m,
        "kind": kind,
    }


def differentiable(problem, dtype=None, output="states"):
    """Leaf copies of the float tensors of ``problem`` (cast to ``dtype``) that require grad; the
    read-out's only with ``output="logits"``."""
    leaves = {}
    names = ("inputs", "h0", "signs", "weight_ih", "bias")
    for name in names + (("readout_weight", "readout_bias") if output == "logits" else ()):
        value = problem[name]
        if value is None or not value.is_floating_point():
            leaves[name] = value
        else:
            leaves[name] = value.detach().to(dtype or value.dtype).requires_grad_()
    return leaves


def run_native(problem, recurrence, dtype=None, output="states"):
    leaves = differentiable(problem, dtype, output)
    rest = (leaves["h0"], leaves["signs"], leaves["weight_ih"], leaves["bias"], problem["block_size"], recurrence)
    readout = {"readout_weight": leaves["readout_weight"], "readout_bias": leaves["readout_bias"]} if output == "logits" else {}
    function = native.hadamard_recurrence_tokens_native if problem["kind"] == "tokens" else native.hadamard_recurrence_native
    return function(leaves["inputs"], *rest, output=output, **readout), leaves


def run_reference(problem, recurrence, dtype=torch.float64, output="states"):
    """The reference states, then what ``output`` asks for, by plain torch operations."""
    leaves = differentiable(problem, dtype, output)
    inputs = leaves["inputs"]
    if problem["kind"] == "tokens":
        inputs = F.one_hot(inputs, problem["weight_ih"].shape[1]).to(dtype)
    rest = (leaves["h0"], leaves["signs"], leaves["weight_ih"], leaves["bias"], problem["block_size"], recurrence)
    states = hadamard_recurrence_reference(inputs, *rest)
    if output == "last":
        return states[:, -1], leaves
    if output == "logits":
        return F.linear(torch.relu(states), leaves["readout_weight"], leaves["readout_bias"]), leaves
    return states, leaves


def gradients(output, leaves, grad_output):
    names = [name for name, leaf in leaves.items() if leaf is not None and leaf.requires_grad]
    values = torch.autograd.grad(output, [leaves[name] for name in names], grad_output.to(output.dtype))
    return dict(zip(names, values))


def compare_with_reference(problem, recurrence, native_dtype=torch.float32, output="states"):
    rtol = FLOAT32_RTOL if native_dtype == torch.float32 else FLOAT64_RTOL
    result, native_leaves = run_native(problem, recurrence, native_dtype, output)
    expected, reference_leaves = run_reference(problem, recurrence, output=output)
    assert result.dtype == native_dtype
    assert_relative_close(result, expected, rtol, output)
    grad_output = torch.randn(expected.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    native_grads = gradients(result, native_leaves, grad_output)
    reference_grads = gradients(expected, reference_leaves, grad_output)
    assert native_grads.keys() == reference_grads.keys()
    own_precision = {}
    if native_dtype == torch.float32:
        single, single_leaves = run_reference(problem, recurrence, torch.float32, output)
        own_precision = gradients(single, single_leaves, grad_output)
    for name in reference_grads:
        # A gradient that is a sum with heavy cancellation (a bias summed over B·T steps at n = 1)
        # is off by more than 1e-5 in any float32 computation, the reference's included, and by
        # how much depends on the order of the additions: there the bound is 8 times the float32
        # reference's own error.
        allowance = 8 * relative_error(own_precision[name], reference_grads[name]) if own_precision else 0.0
        assert_relative_close(native_grads[name], reference_grads[name], max(rtol, allowance), f"gradient of {name}")


# ------------------------------------------------------------------------------------------------


class TestBuild:
    def test_extension_is_built_unless_disabled(self):
        """A broken build must not pass as a skipped one: without HADAMRNN_NO_EXTENSION the
        extension has to load."""
        if os.environ.get("HADAMRNN_NO_EXTENSION", "").strip().lower() not in ("", "0", "false", "no"):
            assert not native.is_available()
            assert "HADAMRNN_NO_EXTENSION" in native.unavailable_reason()
        else:
            assert native.is_available(), (
                f"the C extension did not build or load ({native.unavailable_reason()}); "
                "set HADAMRNN_NO_EXTENSION=1 to test the pure-torch configuration on purpose"
            )
            assert native.unavailable_reason() is None

    @requires_extension
    def test_instruction_sets(self):
        assert native.instruction_set() in native.available_instruction_sets()
        assert "portable" in native.available_instruction_sets()

    @requires_extension
    def test_unknown_instruction_set(self):
        with pytest.raises(HadamRNNError, match="got 'sse9'"):
            native.set_instruction_set("sse9")

    @requires_extension
    def test_thread_pools(self):
        assert native.thread_pool() in native.available_thread_pools()
        assert "pthreads" in native.available_thread_pools()
        # PyTorch's CPU builds with the OpenMP backend load a runtime, which the kernels then use
        if "ATen parallel backend: OpenMP" in torch.__config__.parallel_info():
            assert native.available_thread_pools() == ("openmp", "pthreads")

    @requires_extension
    @pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() on this platform")
    def test_a_forked_child_runs_on_threads_of_its_own(self, tmp_path):
        """OpenMP's team does not survive fork(): after the parent used it, a child that entered it
        would wait forever. The child falls back to threads of its own, with the same bits."""
        script = tmp_path / "fork.py"
        script.write_text(textwrap.dedent('''
            import os, torch
            from hadamrnn import native
            torch.set_num_threads(2)
            x = torch.randn(8, 50, 3, generator=torch.Generator().manual_seed(0))
            h0, u = torch.zeros(8, 16), torch.ones(16)
            w, b = torch.randn(16, 3, generator=torch.Generator().manual_seed(1)), torch.zeros(16)
            parent = native.hadamard_recurrence_native(x, h0, u, w, b, 16, "linear")
            print(native.thread_pool(), flush=True)
            reader, writer = os.pipe()
            pid = os.fork()
            if pid == 0:
                child = native.hadamard_recurrence_native(x, h0, u, w, b, 16, "linear")
                os.write(writer, f"{native.thread_pool()} {torch.equal(child, parent)}".encode())
                os._exit(0)
            os.waitpid(pid, 0)
            print(os.read(reader, 100).decode(), flush=True)
        '''))
        result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        parent_pool, child = result.stdout.splitlines()
        assert parent_pool in native.available_thread_pools()
        assert child == "pthreads True"

    @requires_extension
    @pytest.mark.parametrize("value, expected", [("pthreads", "pthreads"), ("threads", "got 'threads'")])
    def test_thread_pool_from_the_environment(self, value, expected):
        code = "from hadamrnn import native; print(native.thread_pool())"
        environment = dict(os.environ, HADAMRNN_NATIVE_THREADS=value)
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=120)
        assert expected in (result.stdout if result.returncode == 0 else result.stderr)
        assert (result.returncode == 0) == (value == "pthreads")

    @requires_extension
    def test_unknown_thread_pool(self, thread_pool):
        with pytest.raises(HadamRNNError, match="got 'tbb'"):
            thread_pool("tbb")
        assert native.thread_pool() in native.available_thread_pools()


@requires_extension
class TestFWHT:
    @pytest.mark.parametrize("n", [1 << k for k in range(12)])
    def test_every_size_and_block_size_against_reference(self, n):
        generator = torch.Generator().manual_seed(n)
        x = torch.randn(3, n, generator=generator)
        signs = random_signs(n, generator)
        for m in all_block_sizes(n):
            scale = 1 / math.sqrt(m)
            expected = fwht(x.double(), m) * signs.double() * scale
            assert_relative_close(native.fwht_native(x, signs, scale, m), expected, FLOAT32_RTOL, f"n={n} m={m}")
            assert_relative_close(
                native.fwht_native(x.double(), signs.double(), scale, m), expected, FLOAT64_RTOL, f"n={n} m={m}"
            )

    def test_integer_inputs_are_exact(self):
        x = torch.randint(-8, 9, (5, 256)).float()
        assert torch.equal(native.fwht_native(x), fwht(x))
        assert torch.equal(native.fwht_native(x, block_size=16), fwht(x, 16))

    def test_leading_dimensions_and_defaults(self):
        x = torch.randn(2, 3, 4, 16)
        assert torch.equal(native.fwht_native(x), native.fwht_native(x.reshape(-1, 16)).reshape(x.shape))
        assert torch.equal(native.fwht_native(torch.tensor([1.0, 0.0, 0.0, 0.0])), torch.ones(4))

    def test_in_place_equals_out_of_place(self):
        x = torch.randn(7, 64)
        signs = random_signs(64, torch.Generator().manual_seed(0))
        expected = native.fwht_native(x, signs, 0.125, 8)
        version = x._version
        assert native.fwht_native_(x, signs, 0.125, 8) is x
        assert torch.equal(x, expected)
        assert x._version > version  # autograd sees the in-place write

    def test_non_contiguous_input(self):
        x = torch.randn(32, 6).T  # (6, 32), not contiguous
        assert torch.equal(native.fwht_native(x), native.fwht_native(x.contiguous()))

    def test_empty_batch(self):
        assert native.fwht_native(torch.empty(0, 8)).shape == (0, 8)

    def test_gradcheck(self):
        generator = torch.Generator().manual_seed(0)
        x = torch.randn(3, 16, generator=generator, dtype=torch.float64, requires_grad=True)
        signs = torch.randn(16, generator=generator, dtype=torch.float64, requires_grad=True)
        for m in (1, 4, 16):
            assert torch.autograd.gradcheck(lambda x, u: native.fwht_native(x, u, 0.5, m), (x, signs))
            # The backward is the forward again, hence differentiable itself.
            assert torch.autograd.gradgradcheck(lambda x, u: native.fwht_native(x, u, 0.5, m), (x, signs))

    def test_errors_name_expected_and_received(self):
        with pytest.raises(HadamRNNError, match="supported Hadamard order.*got 100; the nearest supported sizes are 96 and 104"):
            native.fwht_native(torch.randn(2, 100))
        with pytest.raises(ShapeError, match="float32 or float64.*got torch.int64"):
            native.fwht_native(torch.ones(2, 4, dtype=torch.int64))
        with pytest.raises(ShapeError, match=r"signs must have shape \(8,\), got \(4,\)"):
            native.fwht_native(torch.randn(2, 8), torch.ones(4))
        with pytest.raises(ShapeError, match="CPU tensor.*got device meta"):
            native.fwht_native(torch.empty(2, 8, device="meta"))
        with pytest.raises(HadamRNNError, match="block_size must be a supported Hadamard order dividing"):
            native.fwht_native(torch.randn(2, 8), block_size=16)
        with pytest.raises(ShapeError, match="contiguous"):
            native.fwht_native_(torch.randn(8, 4).T)
        with pytest.raises(ShapeError, match="not differentiable"):
            native.fwht_native_(torch.randn(2, 8, requires_grad=True))


# Shapes that together cover n ∈ {1, ..., 2048}, B ∈ {1, 3, 32, 100}, T ∈ {1, 2, 7, 100} and
# block sizes from 1 to n, at a cost CI can afford: (n, m, B, T).
COVERING_SHAPES = [
    (1, 1, 3, 7),
    (2, 1, 1, 2),
    (2, 2, 100, 7),
    (4, 2, 32, 100),
    (8, 8, 3, 100),
    (16, 4, 100, 2),
    (32, 32, 1, 100),
    (64, 8, 32, 7),
    (128, 128, 3, 100),
    (256, 32, 1, 1),
    (512, 512, 3, 7),
    (1024, 2, 1, 2),
    (2048, 2048, 3, 7),
    (2048, 64, 1, 1),
]


@requires_extension
class TestRecurrenceAgainstReference:
    @pytest.mark.parametrize("recurrence", ["linear", "relu"])
    @pytest.mark.parametrize("kind", KINDS)
    @pytest.mark.parametrize("shape", COVERING_SHAPES, ids=lambda s: "n{}-m{}-B{}-T{}".format(*s))
    def test_float32_matches_float64_reference(self, shape, kind, recurrence):
        n, m, batch, steps = shape
        compare_with_reference(make_problem(n, m, batch, steps, kind), recurrence)

    @pytest.mark.parametrize("recurrence", ["linear", "relu"])
    def test_every_block_size(self, recurrence):
        for m in all_block_sizes(64):
            compare_with_reference(make_problem(64, m, 3, 7, seed=m), recurrence)

    @pytest.mark.parametrize("kind", KINDS)
    def test_float64_matches_reference(self, kind):
        compare_with_reference(make_problem(32, 8, 3, 20, kind, dtype=torch.float64), "relu", torch.float64)

    def test_without_bias(self):
        compare_with_reference(make_problem(16, 16, 3, 7, bias=False), "linear")

    def test_wide_one_hot_vocabulary_takes_the_projected_path(self):
        compare_with_reference(make_problem(16, 4, 3, 7, "tokens", width=40), "linear")

    def test_tokens_equal_one_hot_features(self):
        problem = make_problem(32, 32, 4, 9, "tokens", width=10)
        output, _ = run_native(problem, "linear")
        one_hot = dict(problem, inputs=F.one_hot(problem["inputs"], 10).float(), kind="features")
        expected, _ = run_native(one_hot, "linear")
        torch.testing.assert_close(output, expected, rtol=1e-6, atol=1e-6)

    @pytest.mark.parametrize("recurrence, memory", [("linear", "stored"), ("linear", "checkpointed"), ("relu", "stored")])
    def test_one_hot_features_equal_tokens_bit_for_bit(self, recurrence, memory):
        """With one feature of 1 per step, the kernels form b + U[:, j] in the pass that uses it and
        add δ to the one column j: the token path's operations (U[:, id] + b, and δ), to the bit,
        states and every gradient."""
        problem = make_problem(32, 32, 4, 600, "tokens", width=10, seed=4)
        tokens = problem["inputs"]
        one_hot = dict(problem, inputs=F.one_hot(tokens, 10).float(), kind="features")
        results = []
        for case in (problem, one_hot):
            leaves = differentiable(case)
            function = native.hadamard_recurrence_tokens_native if case["kind"] == "tokens" else native.hadamard_recurrence_native
            output = function(leaves["inputs"], leaves["h0"], leaves["signs"], leaves["weight_ih"], leaves["bias"],
                              case["block_size"], recurrence, output="last", memory=memory)
            results.append((output, gradients(output, leaves, torch.randn(output.shape, generator=torch.Generator().manual_seed(2)))))
        (token_output, token_grads), (feature_output, feature_grads) = results
        assert torch.equal(token_output, feature_output)
        assert set(feature_grads) == {"inputs", "h0", "signs", "weight_ih", "bias"}
        for name, value in token_grads.items():
            assert torch.equal(value, feature_grads[name]), name

    @pytest.mark.parametrize("recurrence", ["linear", "relu"])
    def test_one_hot_steps_mixed_with_empty_and_two_hot_steps(self, recurrence):
        """Scaled one-hot steps take the single-feature path, steps without a nonzero feature and
        steps with two the general one: all against the reference."""
        problem = make_problem(32, 16, 3, 40, width=6, seed=5)
        generator = torch.Generator().manual_seed(6)
        inputs = torch.zeros(3, 40, 6)
        hot = torch.randint(0, 6, (3, 40), generator=generator)
        inputs.scatter_(2, hot.unsqueeze(-1), torch.randn(3, 40, 1, generator=generator))
        inputs[:, ::7] = 0  # no feature at all
        inputs[:, 3::5, 0] = 1.5  # a second feature (or the first again) on other steps
        problem["inputs"] = inputs
        compare_with_reference(problem, recurrence)

    def test_only_the_requested_gradients(self):
        problem = make_problem(16, 16, 3, 5)
        output, leaves = run_native(problem, "linear")
        (grad_signs,) = torch.autograd.grad(output.sum(), [leaves["signs"]])
        expected, reference_leaves = run_reference(problem, "linear")
        (expected_signs,) = torch.autograd.grad(expected.sum(), [reference_leaves["signs"]])
        assert_relative_close(grad_signs, expected_signs, FLOAT32_RTOL)

    def test_no_steps_and_no_sequences(self):
        for batch, steps in ((3, 0), (0, 4)):
            problem = make_problem(8, 8, batch, steps)
            output, _ = run_native(problem, "linear")
            expected, _ = run_reference(problem, "linear")
            assert output.shape == expected.shape == (batch, steps, 8)

    def test_signs_off_the_unit_values(self):
        """The kernels take any sign vector, not only ±1 (gradcheck perturbs it, for one)."""
        problem = make_problem(32, 8, 3, 9)
        problem["signs"] = torch.randn(32, generator=torch.Generator().manual_seed(5))
        for recurrence in ("linear", "relu"):
            compare_with_reference(problem, recurrence)

    @pytest.mark.parametrize("output", ["last", "logits"])
    @pytest.mark.parametrize("recurrence", ["linear", "relu"])
    @pytest.mark.parametrize("kind", KINDS)
    @pytest.mark.parametrize("shape", COVERING_SHAPES, ids=lambda s: "n{}-m{}-B{}-T{}".format(*s))
    def test_last_state_and_fused_readout(self, shape, kind, recurrence, output):
        n, m, batch, steps = shape
        compare_with_reference(make_problem(n, m, batch, steps, kind, seed=n + steps), recurrence, output=output)

    @pytest.mark.parametrize("output", ["last", "logits"])
    def test_outputs_in_float64_and_without_biases(self, output):
        compare_with_reference(make_problem(32, 8, 3, 20, dtype=torch.float64), "relu", torch.float64, output)
        compare_with_reference(make_problem(16, 16, 3, 7, bias=False), "linear", output=output)

    def test_outputs_are_slices_of_the_states(self):
        """h_T is the last state and the fused read-out is F.linear(ReLU(states)) of the very same
        states: the native paths agree with each other, not only with the reference."""
        problem = make_problem(64, 16, 4, 30, seed=3)
        with torch.no_grad():
            states, _ = run_native(problem, "linear")
            last, _ = run_native(problem, "linear", output="last")
            logits, _ = run_native(problem, "linear", output="logits")
        assert torch.equal(last, states[:, -1])
        expected = F.linear(torch.relu(states.double()), problem["readout_weight"].double(), problem["readout_bias"].double())
        assert_relative_close(logits, expected, FLOAT32_RTOL, "fused read-out")

    def test_outputs_with_no_steps_and_no_sequences(self):
        problem = make_problem(8, 8, 3, 0)
        last, leaves = run_native(problem, "linear", output="last")
        assert torch.equal(last, problem["h0"])  # h_T of an empty sequence is h_0
        logits, _ = run_native(problem, "linear", output="logits")
        assert logits.shape == (3, 0, READOUT_SIZE)
        empty = make_problem(8, 8, 0, 4)
        assert run_native(empty, "linear", output="last")[0].shape == (0, 8)

    def test_output_arguments_are_checked(self):
        p = make_problem(8, 8, 2, 3)
        args = (p["inputs"], p["h0"], p["signs"], p["weight_ih"], p["bias"], 8)
        with pytest.raises(HadamRNNError, match="output must be one of .*got 'all'"):
            native.hadamard_recurrence_native(*args, output="all")
        with pytest.raises(ShapeError, match=r"readout_weight of shape \(k, n=8\), got \(5, 4\)"):
            native.hadamard_recurrence_native(*args, output="logits", readout_weight=p["readout_weight"][:, :4])
        with pytest.raises(HadamRNNError, match="go with output='logits' or 'loss', got output='last'"):
            native.hadamard_recurrence_native(*args, output="last", readout_weight=p["readout_weight"])
        with pytest.raises(ShapeError, match=r"readout_bias must have shape \(5,\), got \(4,\)"):
            native.hadamard_recurrence_native(
                *args, output="logits", readout_weight=p["readout_weight"], readout_bias=p["readout_bias"][:4]
            )

    def test_non_contiguous_inputs(self):
        problem = make_problem(16, 16, 4, 6)
        transposed = dict(problem, inputs=problem["inputs"].transpose(0, 1).contiguous().transpose(0, 1))
        assert not transposed["inputs"].is_contiguous()
        assert torch.equal(run_native(transposed, "linear")[0], run_native(problem, "linear")[0])


@requires_extension
class TestGradcheck:
    """torch.autograd.gradcheck of the native autograd Function in float64, every input kind."""

    @pytest.mark.parametrize("recurrence", ["linear", "relu"])
    @pytest.mark.parametrize("kind", KINDS)
    def test_recurrence(self, kind, recurrence):
        problem = make_problem(8, 4, 2, 4, kind, dtype=torch.float64)
        leaves = differentiable(problem)
        names = [name for name in ("inputs", "h0", "signs", "weight_ih", "bias") if leaves[name].is_floating_point()]
        function = native.hadamard_recurrence_tokens_native if kind == "tokens" else native.hadamard_recurrence_native

        def recurrence_of(*values):
            arguments = dict(leaves, **dict(zip(names, values)))
            return function(
                arguments["inputs"], arguments["h0"], arguments["signs"], arguments["weight_ih"],
                arguments["bias"], problem["block_size"], recurrence,
            )

        assert torch.autograd.gradcheck(recurrence_of, [leaves[name] for name in names])

    @pytest.mark.parametrize("recurrence", ["linear", "relu"])
    @pytest.mark.parametrize("output", ["last", "logits"])
    def test_last_state_and_fused_readout(self, output, recurrence):
        problem = make_problem(8, 4, 2, 4, dtype=torch.float64)
        leaves = differentiable(problem, output=output)
        names = [name for name, leaf in leaves.items() if leaf is not None and leaf.requires_grad]

        def recurrence_of(*values):
            arguments = dict(leaves, **dict(zip(names, values)))
            readout = {}
            if output == "logits":
                readout = {"readout_weight": arguments["readout_weight"], "readout_bias": arguments["readout_bias"]}
            return native.hadamard_recurrence_native(
                arguments["inputs"], arguments["h0"], arguments["signs"], arguments["weight_ih"],
                arguments["bias"], problem["block_size"], recurrence, output=output, **readout,
            )

        assert torch.autograd.gradcheck(recurrence_of, [leaves[name] for name in names])

    def test_double_backward_is_refused(self):
        leaves = differentiable(make_problem(8, 8, 2, 3, dtype=torch.float64))
        output = native.hadamard_recurrence_native(
            leaves["inputs"], leaves["h0"], leaves["signs"], leaves["weight_ih"], leaves["bias"], 8, "linear"
        )
        (grad_h0,) = torch.autograd.grad(output.sum(), leaves["h0"], create_graph=True)
        with pytest.raises(RuntimeError, match="once_differentiable|does not require grad"):
            torch.autograd.grad(grad_h0.sum(), leaves["signs"])


@requires_extension
class TestDeterminism:
    def _forward_and_gradients(self, problem, recurrence="relu"):
        output, leaves = run_native(problem, recurrence)
        grad_output = torch.randn(output.shape, generator=torch.Generator().manual_seed(3))
        return output, gradients(output, leaves, grad_output)

    def _assert_identical(self, first, second):
        assert torch.equal(first[0], second[0])
        for name in first[1]:
            assert torch.equal(first[1][name], second[1][name]), name

    @pytest.mark.parametrize("kind", KINDS)
    def test_same_input_same_bits(self, kind):
        problem = make_problem(64, 16, 32, 20, kind)
        self._assert_identical(self._forward_and_gradients(problem), self._forward_and_gradients(problem))

    @pytest.mark.parametrize("kind", KINDS)
    def test_one_and_two_threads_give_the_same_bits(self, kind, threads):
        """Per-sequence partial sums, added in batch order: not even the reductions of the backward
        depend on the number of threads."""
        problem = make_problem(128, 128, 33, 12, kind)
        threads(1)
        one = self._forward_and_gradients(problem)
        threads(2)
        two = self._forward_and_gradients(problem)
        self._assert_identical(one, two)

    @pytest.mark.parametrize("count", [2, 3])  # two slices, and three (more than this machine's cores)
    @pytest.mark.parametrize("kind", KINDS)
    def test_openmp_and_pthreads_give_the_same_bits(self, kind, count, threads, thread_pool):
        if "openmp" not in native.available_thread_pools():
            pytest.skip("no OpenMP runtime in this process")
        problem = make_problem(128, 128, 33, 12, kind)
        threads(count)
        thread_pool("openmp")
        team = self._forward_and_gradients(problem)
        thread_pool("pthreads")
        self._assert_identical(team, self._forward_and_gradients(problem))

    def test_fwht_across_threads(self, threads):
        # rows enough for two workers of the kernel's minimum size each
        x = torch.randn(2 * native._kernels.FWHT_MIN_ELEMENTS_PER_WORKER // 512 + 3, 512)
        threads(1)
        one = native.fwht_native(x)
        threads(2)
        assert torch.equal(native.fwht_native(x), one)

    @pytest.mark.parametrize("fast_set", FAST_SETS)
    @pytest.mark.parametrize("n, m", [(256, 64), (2048, 2048)])  # one pass of the row, and two
    @pytest.mark.parametrize("kind", KINDS)
    def test_fast_and_portable_paths_give_the_same_bits(self, kind, n, m, fast_set, instruction_set):
        problem = make_problem(n, m, 5 if n <= 256 else 2, 9, kind)
        instruction_set(fast_set)
        fast = self._forward_and_gradients(problem)
        instruction_set("portable")
        portable = self._forward_and_gradients(problem)
        self._assert_identical(fast, portable)

    @requires_avx512
    @pytest.mark.parametrize("kind", KINDS)
    def test_avx512_and_avx2_paths_give_the_same_bits(self, kind, instruction_set):
        """The two sets differ in the row transform (the read-out's passes are compared in
        test_fused_loss.py): at n = 2048 (a first pass over 256 entries
        and a radix-8 pass), with a base order (m = 12 · 128), and on blocks within one register."""
        for n, m in ((2048, 2048), (1536, 1536), (256, 8)):
            problem = make_problem(n, m, 2, 7, kind)
            instruction_set("avx512")
            fast = self._forward_and_gradients(problem)
            instruction_set("avx2")
            self._assert_identical(fast, self._forward_and_gradients(problem))

    @pytest.mark.parametrize("fast_set", FAST_SETS)
    def test_fwht_fast_and_portable_paths_give_the_same_bits(self, fast_set, instruction_set):
        generator = torch.Generator().manual_seed(0)
        for n in (1 << k for k in range(12)):
            x = torch.randn(3, n, generator=generator)
            signs = random_signs(n, generator)
            for m in all_block_sizes(n):
                for gain in ((signs, 1 / math.sqrt(m)), (None, 1.0)):  # the gain applied by the last pass, and none
                    instruction_set(fast_set)
                    fast = native.fwht_native(x, *gain, m)
                    instruction_set("portable")
                    assert torch.equal(native.fwht_native(x, *gain, m), fast), (n, m, gain[1])

    @pytest.mark.parametrize("fast_set", FAST_SETS)
    @pytest.mark.parametrize("n, m", [(24, 24), (48, 12), (768, 192), (1536, 1536), (2560, 1280)])
    def test_fwht_with_base_orders_fast_and_portable_give_the_same_bits(self, n, m, fast_set, instruction_set):
        """Rows of m = r · 2^j (r = 12, 20): the row transform runs on blocks of 2^j, then the base
        product."""
        generator = torch.Generator().manual_seed(1)
        x = torch.randn(3, n, generator=generator)
        signs = random_signs(n, generator)
        instruction_set(fast_set)
        fast = native.fwht_native(x, signs, 1 / math.sqrt(m), m)
        instruction_set("portable")
        assert torch.equal(native.fwht_native(x, signs, 1 / math.sqrt(m), m), fast)


@requires_extension
class TestRecurrenceErrors:
    def test_messages_name_expected_and_received(self):
        p = make_problem(8, 8, 2, 3)
        args = (p["h0"], p["signs"], p["weight_ih"], p["bias"], 8)
        with pytest.raises(ShapeError, match=r"x must have shape \(B=2, T, d=3\), got \(2, 3\)"):
            native.hadamard_recurrence_native(p["inputs"][..., 0], *args)
        with pytest.raises(ShapeError, match="dtype torch.float32.*got torch.float64"):
            native.hadamard_recurrence_native(p["inputs"].double(), *args)
        with pytest.raises(HadamRNNError, match="recurrence must be 'linear' or 'relu', got 'tanh'"):
            native.hadamard_recurrence_native(p["inputs"], *args, "tanh")
        with pytest.raises(HadamRNNError, match="block_size must be a supported Hadamard order dividing"):
            native.hadamard_recurrence_native(p["inputs"], *args[:-1], 3)
        with pytest.raises(ShapeError, match=r"weight_ih must have shape \(n=8, d\), got \(4, 3\)"):
            native.hadamard_recurrence_native(p["inputs"], p["h0"], p["signs"], p["weight_ih"][:4], p["bias"], 8)

    def test_token_errors(self):
        p = make_problem(8, 8, 2, 3, "tokens", width=5)
        args = (p["h0"], p["signs"], p["weight_ih"], p["bias"], 8)
        with pytest.raises(ShapeError, match=r"tokens must lie in \[0, 5\).*from 0 to 5"):
            native.hadamard_recurrence_tokens_native(torch.tensor([[0, 5, 1], [1, 1, 1]]), *args)
        with pytest.raises(ShapeError, match="int64 ids, got dtype torch.int32"):
            native.hadamard_recurrence_tokens_native(p["inputs"].int(), *args)


# ------------------------------------------------------------------------------------------------
# HadamRNN integration
# ------------------------------------------------------------------------------------------------


def twin_layers(backends, **kwargs):
    torch.manual_seed(0)
    layers = [HadamRNN(3, 32, backend=backend, **kwargs) for backend in backends]
    for layer in layers[1:]:
        layer.load_state_dict(layers[0].state_dict())
    return layers


@requires_extension
class TestHadamRNNNative:
    @pytest.mark.parametrize("recurrence", ["linear", "relu"])
    @pytest.mark.parametrize("block_size", [None, 8])
    def test_native_layer_matches_reference_layer(self, block_size, recurrence):
        fast, reference = twin_layers(["native", "reference"], block_size=block_size, recurrence=recurrence)
        reference.double()
        x = torch.randn(4, 25, 3)
        h0 = torch.randn(1, 4, 32)
        outputs, h_n = fast(x, h0)
        expected, expected_h_n = reference(x.double(), h0.double())
        assert_relative_close(outputs, expected, FLOAT32_RTOL, "outputs")
        assert torch.equal(h_n[0], outputs[:, -1])
        outputs.square().sum().backward()
        expected.square().sum().backward()
        for (name, parameter), expected_parameter in zip(fast.named_parameters(), reference.parameters()):
            assert_relative_close(parameter.grad, expected_parameter.grad, FLOAT32_RTOL, name)

    def test_auto_chooses_native_for_float32_on_cpu(self):
        x = torch.randn(2, 3, 4)
        assert native.resolve_backend("auto", x) == "native"
        assert native.resolve_backend("auto", x.double()) == "reference"
        assert native.resolve_backend("auto", torch.empty(2, 3, 4, device="meta")) == "reference"
        assert native.resolve_backend("dense", x) == "dense"

    def test_auto_layer_equals_native_layer(self):
        auto, fast = twin_layers(["auto", "native"])
        x = torch.randn(2, 9, 3)
        assert torch.equal(auto(x)[0], fast(x)[0])

    def test_native_runs_float64_too(self):
        (layer,) = twin_layers(["native"])
        layer.double()
        outputs, _ = layer(torch.randn(2, 5, 3, dtype=torch.float64))
        assert outputs.dtype == torch.float64

    def test_native_refuses_what_it_cannot_run(self):
        with pytest.raises(HadamRNNError, match="expected device cpu, got meta"):
            native.resolve_backend("native", torch.empty(2, 3, 4, device="meta"))
        with pytest.raises(HadamRNNError, match="float32 or float64 inputs, got torch.float16"):
            native.resolve_backend("native", torch.randn(2, 3, 4).half())

    def test_batch_first_false_and_unbatched(self):
        fast, reference = twin_layers(["native", "reference"], batch_first=False)
        x = torch.randn(6, 2, 3)
        torch.testing.assert_close(fast(x)[0], reference(x)[0], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(fast(x[:, 0])[0], reference(x[:, 0])[0], rtol=1e-5, atol=1e-5)


class TestFallback:
    """Run in both configurations: the extension is made unavailable by monkeypatching."""

    @pytest.fixture
    def without_extension(self, monkeypatch):
        monkeypatch.setattr(native, "is_available", lambda: False)
        monkeypatch.setattr(native, "unavailable_reason", lambda: "disabled by the test")
        monkeypatch.setattr(native, "_fallback_warned", False)

    def test_auto_falls_back_to_the_reference_with_one_warning(self, without_extension):
        auto, reference = twin_layers(["auto", "reference"])
        x = torch.randn(2, 6, 3)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            first, _ = auto(x)
            second, _ = auto(x)
        fallbacks = [w for w in caught if "native kernels are not available" in str(w.message)]
        assert len(fallbacks) == 1
        assert "disabled by the test" in str(fallbacks[0].message)
        expected, _ = reference(x)
        assert torch.equal(first, expected) and torch.equal(second, expected)

    def test_native_raises_without_the_extension(self, without_extension):
        (layer,) = twin_layers(["native"])
        with pytest.raises(HadamRNNError, match="needs the C extension.*disabled by the test"):
            layer(torch.randn(2, 6, 3))

    def test_no_warning_where_native_would_not_run_anyway(self, without_extension):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert native.resolve_backend("auto", torch.randn(2, 3, 4).double()) == "reference"

    def test_config_accepts_native(self):
        assert parse_config({"model": {"backend": "native"}}).model.backend == "native"


# ------------------------------------------------------------------------------------------------
# HadamRNN.forward: h_n as an output of its own
# ------------------------------------------------------------------------------------------------

LOSSES_ON = ("h_n", "outputs", "both")


def forward_loss(layer, x, h0, loss_on):
    """A loss on what ``loss_on`` names of ``layer(x, h0)``, with fixed random weights, so that no
    gradient is a plain sum that a wrong path could still match."""
    outputs, h_n = layer(x, h0)
    generator = torch.Generator().manual_seed(7)
    weight_outputs = torch.randn(outputs.shape, generator=generator, dtype=torch.float64).to(outputs.dtype)
    weight_h_n = torch.randn(h_n.shape, generator=generator, dtype=torch.float64).to(h_n.dtype)
    loss = outputs.new_zeros(())
    if loss_on in ("outputs", "both"):
        loss = loss + (outputs * weight_outputs).sum()
    if loss_on in ("h_n", "both"):
        loss = loss + (h_n * weight_h_n).sum() + h_n.square().sum()
    return loss


class TestForwardLastStateGradient:
    """``out, h_n = rnn(x)``: losses on ``h_n`` only, on ``outputs`` only and on both give the
    gradients of the dense backend (the paper's code, autograd through a matrix product) on every
    backend, in float64."""

    @pytest.mark.parametrize("loss_on", LOSSES_ON)
    @pytest.mark.parametrize("recurrence", ["linear", "relu"])
    @pytest.mark.parametrize("hidden_size, block_size", [(32, None), (32, 8), (96, None), (96, 24)])
    @pytest.mark.parametrize("backend", ["reference", pytest.param("native", marks=requires_extension)])
    def test_gradients_equal_the_dense_backend(self, backend, hidden_size, block_size, recurrence, loss_on):
        torch.manual_seed(0)
        layer = HadamRNN(3, hidden_size, block_size=block_size, recurrence=recurrence, backend=backend).double()
        dense = HadamRNN(3, hidden_size, block_size=block_size, recurrence=recurrence, backend="dense").double()
        dense.load_state_dict(layer.state_dict())
        x = torch.randn(4, 11, 3, dtype=torch.float64)
        h0 = torch.randn(1, 4, hidden_size, dtype=torch.float64)
        forward_loss(layer, x, h0, loss_on).backward()
        forward_loss(dense, x, h0, loss_on).backward()
        for (name, parameter), expected in zip(layer.named_parameters(), dense.parameters()):
            assert_relative_close(parameter.grad, expected.grad, FLOAT64_RTOL, f"{name}, loss on {loss_on}")

    @pytest.mark.parametrize("loss_on", LOSSES_ON)
    @pytest.mark.parametrize("backend", ["reference", pytest.param("native", marks=requires_extension)])
    def test_gradcheck(self, backend, loss_on):
        torch.manual_seed(1)
        layer = HadamRNN(2, 8, block_size=4, backend=backend).double()
        x = torch.randn(2, 5, 2, dtype=torch.float64, requires_grad=True)
        h0 = torch.randn(1, 2, 8, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(lambda x, h0: forward_loss(layer, x, h0, loss_on), [x, h0])

    def test_h_n_is_the_last_output_and_not_a_view(self):
        (layer,) = twin_layers(["auto"])
        outputs, h_n = layer(torch.randn(3, 6, 3))
        assert torch.equal(h_n[0], outputs[:, -1])
        assert h_n._base is not outputs and h_n[0]._base is not outputs


@requires_extension
class TestForwardSendsNoStateGradientOfZeros:
    """With a loss on ``h_n`` alone, the kernel's backward receives no ``(B, T, n)`` gradient: its
    ``grad_states`` is the null address (zero to the kernel), and ``grad_last`` is given."""

    @pytest.fixture
    def received(self, monkeypatch):
        calls = []
        kernel_call = native._backward_kernel_call

        def watch(**arguments):
            calls.append(arguments)
            kernel_call(**arguments)

        monkeypatch.setattr(native, "_backward_kernel_call", watch)
        return calls

    def test_loss_on_h_n_only(self, received):
        (layer,) = twin_layers(["native"])
        _, h_n = layer(torch.randn(2, 7, 3))
        h_n.square().sum().backward()
        assert len(received) == 1
        assert received[0]["grad_states"] == 0
        assert received[0]["grad_last"] != 0

    def test_loss_on_outputs_only_and_on_both(self, received):
        (layer,) = twin_layers(["native"])
        outputs, _ = layer(torch.randn(2, 7, 3))
        outputs.sum().backward()
        outputs, h_n = layer(torch.randn(2, 7, 3))
        (outputs.sum() + h_n.sum()).backward()
        assert [call["grad_states"] != 0 for call in received] == [True, True]
        assert [call["grad_last"] != 0 for call in received] == [False, True]

    def test_native_states_and_last_output(self):
        problem = make_problem(16, 8, 3, 9, dtype=torch.float64)
        leaves = differentiable(problem)
        states, last = native.hadamard_recurrence_native(
            leaves["inputs"], leaves["h0"], leaves["signs"], leaves["weight_ih"], leaves["bias"], 8,
            output="states_and_last",
        )
        assert torch.equal(last, states[:, -1])
        empty = make_problem(8, 8, 3, 0)
        states, last = native.hadamard_recurrence_native(
            empty["inputs"], empty["h0"], empty["signs"], empty["weight_ih"], empty["bias"], 8, output="states_and_last"
        )
        assert states.shape == (3, 0, 8) and torch.equal(last, empty["h0"])


# ------------------------------------------------------------------------------------------------
# The reversible and checkpointed backward of the linear recurrence
# ------------------------------------------------------------------------------------------------

#: Bounds on the relative error in norm of the reversible and checkpointed gradients against the
#: stored-state ones, at T <= 100 (docs/performance.md measures the drift up to T = 100,000): the
#: recomputation adds rounding errors that grow like the square root of the steps walked back.
REVERSIBLE_RTOL = {torch.float32: 2e-5, torch.float64: 1e-13}
MEMORY_MODES = (("reversible", None), ("checkpointed", 7), ("checkpointed", 1))


def run_with_memory(problem, output, memory, interval, dtype):
    leaves = differentiable(problem, dtype, output)
    readout = {"readout_weight": leaves["readout_weight"], "readout_bias": leaves["readout_bias"]} if output == "logits" else {}
    function = native.hadamard_recurrence_tokens_native if problem["kind"] == "tokens" else native.hadamard_recurrence_native
    result = function(
        leaves["inputs"], leaves["h0"], leaves["signs"], leaves["weight_ih"], leaves["bias"], problem["block_size"],
        "linear", output=output, memory=memory, checkpoint_interval=interval, **readout,
    )
    return result, leaves


@requires_extension
class TestReversibleBackward:
    @pytest.mark.parametrize("memory, interval", MEMORY_MODES)
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
    @pytest.mark.parametrize("output", ["last", "logits"])
    @pytest.mark.parametrize("kind", KINDS)
    @pytest.mark.parametrize("shape", [(64, 64, 3, 60), (64, 8, 2, 33), (96, 96, 2, 40), (96, 24, 3, 25)],
                             ids=lambda s: "n{}-m{}-B{}-T{}".format(*s))
    def test_gradients_equal_the_stored_state_gradients(self, shape, kind, output, dtype, memory, interval):
        n, m, batch, steps = shape
        problem = make_problem(n, m, batch, steps, kind, seed=n + steps, dtype=dtype)
        stored, stored_leaves = run_with_memory(problem, output, "stored", None, dtype)
        result, leaves = run_with_memory(problem, output, memory, interval, dtype)
        # The forward is the same computation: the outputs are bit-identical.
        assert torch.equal(result, stored)
        grad_output = torch.randn(stored.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        expected = gradients(stored, stored_leaves, grad_output)
        actual = gradients(result, leaves, grad_output)
        assert actual.keys() == expected.keys()
        for name in expected:
            assert_relative_close(actual[name], expected[name], REVERSIBLE_RTOL[dtype], f"gradient of {name}")

    @pytest.mark.parametrize("output", ["last", "logits"])
    @pytest.mark.parametrize("interval", [None, 3])
    def test_native_equals_the_pure_torch_reversible_reference(self, output, interval):
        """The kernels run the algorithm of hadamard_recurrence_reversible_reference."""
        problem = make_problem(96, 24, 3, 13, dtype=torch.float64)
        memory = "reversible" if interval is None else "checkpointed"
        result, leaves = run_with_memory(problem, output, memory, interval, torch.float64)
        reference_leaves = differentiable(problem, torch.float64, output)
        readout = {}
        if output == "logits":
            readout = {"readout_weight": reference_leaves["readout_weight"], "readout_bias": reference_leaves["readout_bias"]}
        expected = hadamard_recurrence_reversible_reference(
            reference_leaves["inputs"], reference_leaves["h0"], reference_leaves["signs"], reference_leaves["weight_ih"],
            reference_leaves["bias"], 24, output=output, checkpoint_interval=interval, **readout,
        )
        assert_relative_close(result, expected, FLOAT64_RTOL, output)
        grad_output = torch.randn(expected.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        actual, wanted = gradients(result, leaves, grad_output), gradients(expected, reference_leaves, grad_output)
        for name in wanted:
            assert_relative_close(actual[name], wanted[name], FLOAT64_RTOL, f"gradient of {name}")

    @pytest.mark.parametrize("output", ["last", "logits"])
    @pytest.mark.parametrize("memory", ["reversible", "checkpointed"])
    def test_gradcheck(self, memory, output):
        problem = make_problem(8, 4, 2, 6, dtype=torch.float64)
        leaves = differentiable(problem, output=output)
        names = [name for name, leaf in leaves.items() if leaf is not None and leaf.requires_grad]

        def recurrence_of(*values):
            arguments = dict(leaves, **dict(zip(names, values)))
            readout = {}
            if output == "logits":
                readout = {"readout_weight": arguments["readout_weight"], "readout_bias": arguments["readout_bias"]}
            return native.hadamard_recurrence_native(
                arguments["inputs"], arguments["h0"], arguments["signs"], arguments["weight_ih"], arguments["bias"], 4,
                output=output, memory=memory, checkpoint_interval=2 if memory == "checkpointed" else None, **readout,
            )

        assert torch.autograd.gradcheck(recurrence_of, [leaves[name] for name in names])

    def test_a_wrong_inverse_would_fail(self):
        """The bound can fail: the gradients of a recurrence run with other signs in the
        recomputation (a wrong W^{-1}) are far from the stored ones."""
        problem = make_problem(64, 64, 2, 30, dtype=torch.float64)
        stored, stored_leaves = run_with_memory(problem, "last", "stored", None, torch.float64)
        expected = gradients(stored, stored_leaves, torch.ones(stored.shape, dtype=torch.float64))
        # h_T of a sequence with other inputs, so the walk back starts from a wrong state.
        shifted = dict(problem, inputs=problem["inputs"] + 0.01)
        result, leaves = run_with_memory(shifted, "last", "reversible", None, torch.float64)
        actual = gradients(result, leaves, torch.ones(result.shape, dtype=torch.float64))
        assert relative_error(actual["signs"], expected["signs"]) > REVERSIBLE_RTOL[torch.float64]

    def test_relu_and_state_outputs_are_refused(self):
        p = make_problem(8, 8, 2, 3)
        args = (p["inputs"], p["h0"], p["signs"], p["weight_ih"], p["bias"], 8)
        with pytest.raises(HadamRNNError, match="needs the linear recurrence.*ReLU step cannot be inverted"):
            native.hadamard_recurrence_native(*args, "relu", output="last", memory="reversible")
        with pytest.raises(HadamRNNError, match="goes with output='last', 'logits' or 'loss', got output='states'"):
            native.hadamard_recurrence_native(*args, "linear", memory="checkpointed")
        with pytest.raises(HadamRNNError, match="memory must be one of"):
            native.hadamard_recurrence_native(*args, "linear", output="last", memory="none")
        with pytest.raises(HadamRNNError, match="checkpoint_interval must be a positive integer, got 0"):
            native.hadamard_recurrence_native(*args, "linear", output="last", memory="checkpointed", checkpoint_interval=0)
        with pytest.raises(HadamRNNError, match="ReLU step cannot be inverted"):
            HadamRNN(3, 8, recurrence="relu", memory="reversible")

    def test_sequences_without_steps(self):
        problem = make_problem(8, 8, 3, 0)
        last, _ = run_with_memory(problem, "last", "reversible", None, torch.float32)
        assert torch.equal(last, problem["h0"])


class TestLayerMemory:
    """``HadamRNN(memory=...)``: ``last_state`` and ``readout`` on every mode equal the stored ones."""

    def test_auto_picks_checkpointed_for_linear_native_and_stored_otherwise(self):
        linear = HadamRNN(3, 8, backend="native" if native.is_available() else "reference")
        relu = HadamRNN(3, 8, recurrence="relu")
        if native.is_available():
            assert linear._memory_for("native", "last") == "checkpointed"
        assert linear._memory_for("reference", "last") == "stored"
        assert linear._memory_for("native", "states_and_last") == "stored"
        assert relu._memory_for("native", "last") == "stored"

    @pytest.mark.parametrize("memory", ["reversible", "checkpointed", "auto"])
    @pytest.mark.parametrize("backend", ["reference", pytest.param("native", marks=requires_extension)])
    def test_last_state_and_readout(self, backend, memory):
        torch.manual_seed(0)
        layer = HadamRNN(3, 96, block_size=24, backend=backend, memory=memory).double()
        stored = HadamRNN(3, 96, block_size=24, backend=backend, memory="stored").double()
        stored.load_state_dict(layer.state_dict())
        x = torch.randn(2, 17, 3, dtype=torch.float64)
        weight = torch.randn(4, 96, dtype=torch.float64)
        for run in (lambda rnn: rnn.last_state(x).square().sum(), lambda rnn: rnn.readout(x, weight).sin().sum()):
            layer.zero_grad(), stored.zero_grad()
            run(layer).backward()
            run(stored).backward()
            for (name, parameter), expected in zip(layer.named_parameters(), stored.parameters()):
                assert_relative_close(parameter.grad, expected.grad, REVERSIBLE_RTOL[torch.float64], name)


@requires_extension
def test_checkpointed_float32_error_stays_near_the_stored_float32_error():
    """Over T = 2000 steps (eight re-anchorings at the default interval), the float32 checkpointed
    gradients are as close to the float64 stored ones as the float32 stored gradients are, within
    a factor 1.5 (measured at n = 512: 1.44 at T = 1000, 1.04 at T = 10,000); the purely reversible
    ones, walked back 2000 steps, within a factor 4 (measured about 3 at n = 512, every T)."""
    problem = make_problem(64, 64, 2, 2000, "features", width=1, seed=4)
    problem["bias"] = problem["bias"] * 0.1
    exact, exact_leaves = run_with_memory(problem, "last", "stored", None, torch.float64)
    grad_output = torch.randn(exact.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    expected = gradients(exact, exact_leaves, grad_output)

    def worst_error(memory):
        result, leaves = run_with_memory(problem, "last", memory, None, torch.float32)
        actual = gradients(result, leaves, grad_output)
        return max(relative_error(actual[name], expected[name]) for name in ("signs", "weight_ih", "bias", "h0"))

    stored = worst_error("stored")
    assert worst_error("checkpointed") <= 1.5 * stored
    assert worst_error("reversible") <= 4 * stored


# ------------------------------------------------------------------------------------------------
# The backward's sign gradient at recomputed states, its one-pass training step, and the layer's
# anchored walk over stored states
# ------------------------------------------------------------------------------------------------


@requires_extension
class TestRecomputedSignGradient:
    """At a state recomputed from the next one, the sign gradient reads ``H h_{t-1}/√m`` off the
    recomputation, ``(h_t − drive_t)/u``, instead of transforming the recomputed state again."""

    @pytest.mark.parametrize("fast_set", FAST_SETS)
    @pytest.mark.parametrize("memory, interval", MEMORY_MODES)
    @pytest.mark.parametrize("output", ["last", "logits"])
    @pytest.mark.parametrize("kind, width, bias", [
        ("features", 1, True), ("features", 1, False), ("features", 3, True), ("tokens", 3, True), ("projected", 3, True),
    ])
    def test_fast_and_portable_paths_give_the_same_bits(
        self, kind, width, bias, output, memory, interval, fast_set, instruction_set
    ):
        problem = make_problem(256, 64, 3, 40, kind, width=width, bias=bias)
        if kind == "features":
            problem["inputs"][:, ::5] = 0  # the zero features that the fused drive skips
        grad_output = None
        results = {}
        for name in (fast_set, "portable"):
            instruction_set(name)
            result, leaves = run_with_memory(problem, output, memory, interval, torch.float32)
            if grad_output is None:
                grad_output = torch.randn(result.shape, generator=torch.Generator().manual_seed(2))
            results[name] = (result, gradients(result, leaves, grad_output))
        assert torch.equal(results[fast_set][0], results["portable"][0])
        for name, value in results[fast_set][1].items():
            assert torch.equal(value, results["portable"][1][name]), name

    @pytest.mark.parametrize("bias", [True, False])
    @pytest.mark.parametrize("kind", KINDS)
    def test_float32_sign_gradient_is_as_close_to_float64_as_the_stored_one(self, kind, bias):
        """Against the float64 stored backward, the checkpointed float32 gradient of the signs is
        within a factor 1.5 of the float32 stored one's error (the recomputed states drift for at
        most k = 256 steps); a wrong shortcut (say, without the division by u) is far off."""
        problem = make_problem(64, 64, 2, 700, kind, width=1 if kind == "features" else 3, seed=5, bias=bias)
        exact, exact_leaves = run_with_memory(problem, "last", "stored", None, torch.float64)
        grad_output = torch.randn(exact.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        expected = gradients(exact, exact_leaves, grad_output)["signs"]

        def error(memory, interval=None):
            result, leaves = run_with_memory(problem, "last", memory, interval, torch.float32)
            return relative_error(gradients(result, leaves, grad_output)["signs"], expected)

        stored = error("stored")
        assert stored < 1e-4
        assert error("checkpointed", 256) <= 1.5 * stored
        assert error("checkpointed", 7) <= 1.5 * stored

    def test_float64_sign_gradient_equals_the_reference_without_the_shortcut(self):
        """The shortcut against the definition, written out here for a loss on h_T:
        ∂L/∂u = Σ_{b,t} δ_t ⊙ H h_{t-1}/√m with every h_{t-1} from the float64 reference forward and
        δ_T = ∂L/∂h_T, δ_{t-1} = H(u ⊙ δ_t)/√m; equal to 1e-12."""
        problem = make_problem(32, 8, 2, 30, "features", width=1, seed=3, dtype=torch.float64)
        result, leaves = run_with_memory(problem, "last", "checkpointed", 4, torch.float64)
        grad_output = torch.randn(result.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        actual = gradients(result, leaves, grad_output)["signs"]
        # The definition: states of the reference forward, adjoints by the transposed step.
        states, ref_leaves = run_reference(problem, "linear", torch.float64)
        previous = torch.cat([ref_leaves["h0"][:, None], states[:, :-1]], dim=1).detach()
        scale = 1 / math.sqrt(8)
        signs = problem["signs"]
        delta, expected = grad_output.clone(), torch.zeros(32, dtype=torch.float64)
        for t in range(problem["inputs"].shape[1] - 1, -1, -1):
            expected += (delta * fwht(previous[:, t], 8) * scale).sum(0)
            delta = fwht(delta * signs, 8) * scale
        assert_relative_close(actual, expected, FLOAT64_RTOL, "gradient of the signs")


@requires_extension
class TestLayerAnchoredBackward:
    """``out, h_n = rnn(x)`` with a loss on ``h_n`` alone, linear recurrence, ``memory="auto"``: the
    backward walks back as the checkpointed one, re-anchored on every k-th returned state, and so
    gives the gradients of ``last_state`` (the heads' path) bit for bit."""

    @pytest.mark.parametrize("block_size", [None, 24])
    def test_gradients_are_those_of_last_state(self, block_size):
        torch.manual_seed(0)
        layer = HadamRNN(1, 96, block_size=block_size, backend="native")
        x = torch.rand(3, 600, 1)  # the anchors t = 256 and 512 are crossed
        weight = torch.randn(3, 96)
        grads = []
        for run in (lambda: layer(x)[1][0], lambda: layer.last_state(x)):
            layer.zero_grad()
            ((run() * weight).sum() + run().square().sum()).backward()
            grads.append([parameter.grad.clone() for parameter in layer.parameters()])
        for first, second in zip(*grads):
            assert torch.equal(first, second)

    def test_stored_memory_reads_every_state(self, monkeypatch):
        """memory="stored" keeps the stored backward, bit for bit that of last_state(memory="stored");
        the spy sees no anchor interval there, and the default's interval under "auto"."""
        calls = []
        kernel_call = native._backward_kernel_call

        def watch(**arguments):
            calls.append(arguments)
            kernel_call(**arguments)

        monkeypatch.setattr(native, "_backward_kernel_call", watch)
        torch.manual_seed(0)
        stored = HadamRNN(1, 64, backend="native", memory="stored")
        auto = HadamRNN(1, 64, backend="native")
        auto.load_state_dict(stored.state_dict())
        x = torch.rand(2, 300, 1)
        grads = []
        for run in (lambda: stored(x)[1][0], lambda: stored.last_state(x)):
            stored.zero_grad()
            run().square().sum().backward()
            grads.append([parameter.grad.clone() for parameter in stored.parameters()])
        for first, second in zip(*grads):
            assert torch.equal(first, second)
        auto(x)[1].square().sum().backward()
        outputs, _ = auto(x)
        outputs.sum().backward()  # a loss on the states: they are read back
        assert [call.get("anchor_interval", 0) for call in calls] == [0, 0, native.CHECKPOINT_INTERVAL, 0]

    def test_relu_recurrence_keeps_the_stored_backward(self):
        torch.manual_seed(0)
        layer = HadamRNN(3, 32, recurrence="relu", backend="native")
        with pytest.raises(HadamRNNError, match="anchor_interval needs the linear recurrence"):
            native._recurrence_for_layer(
                torch.randn(2, 5, 3), torch.zeros(2, 32), layer.signs(), layer.input_proj.weight, None, 32, "relu",
                output="states_and_last", anchor_interval=4,
            )
        x = torch.randn(2, 9, 3)
        _, h_n = layer(x)
        h_n.sum().backward()  # runs: the layer asks for no anchors with the ReLU step

    def test_kernel_refuses_anchors_with_checkpoints_or_relu(self):
        problem = make_problem(8, 8, 2, 3)
        arguments = native._problem(
            "features", False, 8, problem["inputs"], problem["h0"], problem["signs"], problem["weight_ih"].t().contiguous(),
            problem["bias"], torch.empty(2, 1, 8), 4,
        )
        with pytest.raises(ValueError, match="anchor_interval goes with every state stored"):
            native._kernels.recurrence_backward(
                **arguments, grad_states=0, grad_inputs=0, grad_h0=0, grad_signs=0, grad_columns=0, grad_bias=0,
                anchor_interval=4,
            )
        arguments = dict(arguments, relu=True, checkpoint_interval=0)
        with pytest.raises(ValueError, match="needs the linear recurrence"):
            native._kernels.recurrence_backward(
                **arguments, grad_states=0, grad_inputs=0, grad_h0=0, grad_signs=0, grad_columns=0, grad_bias=0,
                anchor_interval=4,
            )


@requires_extension
class TestStatesPool:
    """Returned states of 32 MiB or more live in memory that goes back to the kernels' pool when
    freed, and the next forward of the same size takes it again (no fresh pages to fault in)."""

    SHAPE = (8, 1024, 1024)  # 32 MiB of float32 states: the smallest pooled size

    @pytest.fixture(autouse=True)
    def empty_pool(self):
        native.empty_cache()
        yield
        native.empty_cache()

    def run(self, inputs):
        batch, steps, n = inputs.shape[0], inputs.shape[1], self.SHAPE[2]
        generator = torch.Generator().manual_seed(0)
        signs = random_signs(n, generator)
        weight_ih = torch.randn(n, 1, generator=generator)
        return native.hadamard_recurrence_native(inputs, torch.zeros(batch, n), signs, weight_ih, None, n)

    def test_memory_is_reused_and_fully_written(self):
        batch, steps, _ = self.SHAPE
        first = self.run(torch.rand(batch, steps, 1))
        address = first.data_ptr()
        assert native.POOLED_STATES_MIN_BYTES == first.numel() * first.element_size()
        del first
        assert native._kernels.states_pool_bytes() == native.POOLED_STATES_MIN_BYTES
        inputs = torch.rand(batch, steps, 1, generator=torch.Generator().manual_seed(1))
        second = self.run(inputs)
        assert second.data_ptr() == address  # the released block, not fresh memory
        assert native._kernels.states_pool_bytes() == 0
        # Every state was written: the halves of the batch (16 MiB each, from PyTorch's allocator)
        # give the same bits.
        assert torch.equal(second[: batch // 2], self.run(inputs[: batch // 2]))
        assert torch.equal(second[batch // 2 :], self.run(inputs[batch // 2 :]))

    def test_a_view_keeps_the_memory_and_the_pool_keeps_two_blocks(self):
        batch, steps, _ = self.SHAPE
        states = [self.run(torch.rand(batch, steps, 1)) for _ in range(3)]
        view = states[0][:, -1]
        del states[0]
        assert native._kernels.states_pool_bytes() == 0  # the view still holds its block
        del view
        states.clear()
        assert native._kernels.states_pool_bytes() == 2 * native.POOLED_STATES_MIN_BYTES
        assert native.empty_cache() == 2 * native.POOLED_STATES_MIN_BYTES
        assert native._kernels.states_pool_bytes() == 0

    def test_pooled_states_train_like_fresh_ones(self):
        """Autograd, in-place writes and saving work on the pooled tensor as on any other."""
        batch, steps, n = self.SHAPE
        inputs = torch.rand(batch, steps, 1)
        states = self.run(inputs)
        assert not states.requires_grad and states.is_contiguous() and states.shape == self.SHAPE
        states[0, 0].fill_(3.0)
        assert float(states[0, 0, 5]) == 3.0
