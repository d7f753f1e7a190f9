"""The loss fused into the read-out kernel (``output="loss"``) against the pure-torch reference.

Tolerance policy (that of ``tests/test_native.py``): the native float32 loss and gradients against
the reference run in float64 on the same values, relative error in norm at most ``1e-5`` (or 8
times the float32 reference's own error, for a gradient that cancels); the native float64 path at
most ``1e-12``. The loss is a mean of ``B·T`` per-step terms, each a few roundings of a logit that
carries the recurrence's own float32 error, so it is held to the bound of the logits. AVX2 against
portable and 1 against 2 threads: bit for bit.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hadamrnn import HadamRNN, HadamRNNError, SequenceTagger, ShapeError, native
from hadamrnn.functional import hadamard_recurrence_reference
from hadamrnn.losses import StepLoss
from hadamrnn.tasks import CopyTask

from test_native import FLOAT32_RTOL, FLOAT64_RTOL, assert_relative_close, make_problem, relative_error

requires_extension = pytest.mark.skipif(
    not native.is_available(), reason=f"native extension not built: {native.unavailable_reason()}"
)
requires_avx2 = pytest.mark.skipif(
    not native.is_available() or "avx2" not in native.available_instruction_sets(),
    reason="needs the native extension on a CPU with AVX2 and FMA",
)

IGNORED = -1
LOSSES = {
    "ce": StepLoss("cross_entropy"),
    "ce_ignore": StepLoss("cross_entropy", ignore_index=IGNORED),
    "ce_sum": StepLoss("cross_entropy", reduction="sum"),
    "bce": StepLoss("binary_cross_entropy"),
    "bce_sum": StepLoss("binary_cross_entropy", reduction="sum"),
}
PARAMETERS = ("inputs", "h0", "signs", "weight_ih", "bias", "readout_weight", "readout_bias")


def make_targets(step_loss: StepLoss, batch: int, steps: int, classes: int, seed: int = 5, dtype=torch.float32):
    generator = torch.Generator().manual_seed(seed)
    if step_loss.kind == "binary_cross_entropy":
        return torch.rand(batch, steps, classes, generator=generator, dtype=dtype)
    targets = torch.randint(0, classes, (batch, steps), generator=generator)
    if step_loss.ignore_index is not None:
        targets[torch.rand(batch, steps, generator=generator) < 0.3] = step_loss.ignore_index
    return targets


def leaves_of(problem, dtype):
    leaves = {}
    for name in PARAMETERS:
        value = problem[name]
        if value is None or not value.is_floating_point():
            leaves[name] = value
        else:
            leaves[name] = value.detach().to(dtype).requires_grad_()
    return leaves


def native_loss(problem, targets, step_loss, recurrence="linear", dtype=torch.float32, memory="stored"):
    leaves = leaves_of(problem, dtype)
    targets = targets.to(dtype) if targets.is_floating_point() else targets
    function = native.hadamard_recurrence_tokens_native if problem["kind"] == "tokens" else native.hadamard_recurrence_native
    loss = function(
        leaves["inputs"], leaves["h0"], leaves["signs"], leaves["weight_ih"], leaves["bias"], problem["block_size"],
        recurrence, output="loss", readout_weight=leaves["readout_weight"], readout_bias=leaves["readout_bias"],
        targets=targets, step_loss=step_loss, memory=memory,
    )
    return loss, leaves


def reference_loss(problem, targets, step_loss, recurrence="linear", dtype=torch.float64):
    """The reference states, the read-out by F.linear and the loss by F.cross_entropy or
    F.binary_cross_entropy_with_logits: no code of the kernels."""
    leaves = leaves_of(problem, dtype)
    inputs = leaves["inputs"]
    if problem["kind"] == "tokens":
        inputs = F.one_hot(inputs, problem["weight_ih"].shape[1]).to(dtype)
    states = hadamard_recurrence_reference(
        inputs, leaves["h0"], leaves["signs"], leaves["weight_ih"], leaves["bias"], problem["block_size"], recurrence
    )
    logits = F.linear(torch.relu(states), leaves["readout_weight"], leaves["readout_bias"])
    targets = targets.to(dtype) if targets.is_floating_point() else targets
    if step_loss.kind == "binary_cross_entropy":
        loss = F.binary_cross_entropy_with_logits(logits, targets, reduction=step_loss.reduction)
    else:
        ignore = {} if step_loss.ignore_index is None else {"ignore_index": step_loss.ignore_index}
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction=step_loss.reduction, **ignore)
    return loss, leaves


def grads_of(loss, leaves):
    names = [name for name, leaf in leaves.items() if leaf is not None and leaf.requires_grad]
    return dict(zip(names, torch.autograd.grad(loss, [leaves[name] for name in names])))


def compare(problem, step_loss, recurrence="linear", dtype=torch.float32, memory="stored", targets=None):
    classes = problem["readout_weight"].shape[0]
    batch, steps = problem["inputs"].shape[:2]
    if targets is None:
        targets = make_targets(step_loss, batch, steps, classes)
    rtol = FLOAT32_RTOL if dtype == torch.float32 else FLOAT64_RTOL
    loss, native_leaves = native_loss(problem, targets, step_loss, recurrence, dtype, memory)
    expected, reference_leaves = reference_loss(problem, targets, step_loss, recurrence)
    assert loss.dtype == dtype and loss.shape == ()
    assert_relative_close(loss, expected, rtol, "loss")
    native_grads, reference_grads = grads_of(loss, native_leaves), grads_of(expected, reference_leaves)
    own = {}
    if dtype == torch.float32:
        single, single_leaves = reference_loss(problem, targets, step_loss, recurrence, torch.float32)
        own = grads_of(single, single_leaves)
    assert native_grads.keys() == reference_grads.keys()
    for name, expected_grad in reference_grads.items():
        allowance = 8 * relative_error(own[name], expected_grad) if own else 0.0
        assert_relative_close(native_grads[name], expected_grad, max(rtol, allowance), f"gradient of {name}")


@requires_extension
class TestAgainstReference:
    @pytest.mark.parametrize("loss", sorted(LOSSES))
    @pytest.mark.parametrize("kind", ["features", "tokens", "projected"])
    @pytest.mark.parametrize("recurrence", ["linear", "relu"])
    def test_float32_matches_float64_reference(self, loss, kind, recurrence):
        compare(make_problem(32, 32, 4, 19, kind, seed=3), LOSSES[loss], recurrence)

    @pytest.mark.parametrize("loss", sorted(LOSSES))
    @pytest.mark.parametrize("shape", [(1, 1, 3, 1), (8, 4, 2, 8), (12, 12, 3, 9), (96, 96, 2, 17), (128, 128, 3, 33)])
    def test_float64_matches_reference(self, loss, shape):
        n, m, batch, steps = shape
        compare(make_problem(n, m, batch, steps, seed=n), LOSSES[loss], dtype=torch.float64)

    @pytest.mark.parametrize("classes", [1, 2, 8, 9, 12, 13, 30])
    @pytest.mark.parametrize("n", [4, 16, 24])
    def test_number_of_classes_and_rows_of_any_length(self, classes, n):
        """k around the AVX2 kernels' groups (8, 12) and n around whole registers (8)."""
        problem = make_problem(n, n, 3, 11, seed=classes)
        problem["readout_weight"] = torch.randn(classes, n, generator=torch.Generator().manual_seed(1)) * 0.3
        problem["readout_bias"] = torch.randn(classes, generator=torch.Generator().manual_seed(2)) * 0.1
        for loss in ("ce", "ce_ignore", "bce"):
            compare(problem, LOSSES[loss])
            compare(problem, LOSSES[loss], dtype=torch.float64)

    @pytest.mark.parametrize("memory", ["reversible", "checkpointed"])
    @pytest.mark.parametrize("loss", ["ce", "bce"])
    def test_recomputed_states(self, memory, loss):
        compare(make_problem(16, 16, 3, 21, seed=4), LOSSES[loss], memory=memory, dtype=torch.float64)

    def test_without_biases(self):
        compare(make_problem(16, 16, 3, 9, bias=False), LOSSES["ce_ignore"])

    @pytest.mark.parametrize("loss", ["ce", "bce"])
    def test_far_apart_logits_stay_finite_and_exact(self, loss):
        """Logits hundreds apart: the max-subtracted log-sum-exp, exp(-|o|) and exponentials below
        e^-87 (which the float32 kernels count as e^-87) give the reference's loss."""
        problem = make_problem(16, 16, 3, 9, seed=6)
        problem["readout_weight"] = problem["readout_weight"] * 200
        classes = problem["readout_weight"].shape[0]
        targets = make_targets(LOSSES[loss], 3, 9, classes)
        logits = F.linear(torch.relu(hadamard_recurrence_reference(
            problem["inputs"].double(), problem["h0"].double(), problem["signs"].double(),
            problem["weight_ih"].double(), problem["bias"].double(), 16)), problem["readout_weight"].double())
        assert float(logits.max() - logits.min()) > 200  # the case this test is about
        compare(problem, LOSSES[loss], targets=targets)
        compare(problem, LOSSES[loss], dtype=torch.float64, targets=targets)

    def test_every_step_ignored_is_nan_as_torch(self):
        problem = make_problem(8, 8, 2, 5)
        targets = torch.full((2, 5), IGNORED)
        loss, leaves = native_loss(problem, targets, LOSSES["ce_ignore"])
        expected, _ = reference_loss(problem, targets, LOSSES["ce_ignore"])
        assert torch.isnan(loss) and torch.isnan(expected)
        loss.backward()  # no scored step: nothing flows back
        assert all(torch.equal(leaf.grad, torch.zeros_like(leaf)) for leaf in leaves.values() if leaf is not None and leaf.requires_grad)
        total, _ = native_loss(problem, targets, StepLoss("cross_entropy", ignore_index=IGNORED, reduction="sum"))
        assert float(total) == 0.0

    def test_no_steps_and_no_sequences(self):
        for batch, steps in ((0, 4), (3, 0)):
            problem = make_problem(8, 8, batch, steps)
            for name, step_loss in LOSSES.items():
                targets = make_targets(step_loss, batch, steps, 5)
                loss, _ = native_loss(problem, targets, step_loss)
                expected, _ = reference_loss(problem, targets, step_loss)
                assert loss.shape == ()
                torch.testing.assert_close(loss.double(), expected, equal_nan=True, msg=name)

    def test_nan_state_gives_nan_loss(self):
        problem = make_problem(8, 8, 2, 5)
        problem["h0"][0, 0] = float("nan")
        for name in ("ce", "bce"):
            loss, _ = native_loss(problem, make_targets(LOSSES[name], 2, 5, 5), LOSSES[name])
            assert torch.isnan(loss), name


@requires_extension
class TestGradcheck:
    @pytest.mark.parametrize("loss", sorted(LOSSES))
    @pytest.mark.parametrize("recurrence", ["linear", "relu"])
    def test_every_parameter(self, loss, recurrence):
        problem = make_problem(8, 4, 2, 5, seed=7, dtype=torch.float64)
        step_loss = LOSSES[loss]
        targets = make_targets(step_loss, 2, 5, 5, dtype=torch.float64)
        leaves = leaves_of(problem, torch.float64)
        names = [name for name in PARAMETERS if leaves[name] is not None]

        def function(*values):
            given = dict(zip(names, values))
            return native.hadamard_recurrence_native(
                given["inputs"], given["h0"], given["signs"], given["weight_ih"], given["bias"], 4, recurrence,
                output="loss", readout_weight=given["readout_weight"], readout_bias=given["readout_bias"],
                targets=targets, step_loss=step_loss,
            )

        assert torch.autograd.gradcheck(function, tuple(leaves[name] for name in names))


@requires_extension
class TestDeterminism:
    def _everything(self, problem, step_loss):
        classes = problem["readout_weight"].shape[0]
        targets = make_targets(step_loss, *problem["inputs"].shape[:2], classes)
        loss, leaves = native_loss(problem, targets, step_loss)
        logits = native.hadamard_recurrence_native(
            problem["inputs"], problem["h0"], problem["signs"], problem["weight_ih"], problem["bias"],
            problem["block_size"], output="logits", readout_weight=problem["readout_weight"],
            readout_bias=problem["readout_bias"],
        )
        return [loss.detach(), logits, *grads_of(loss, leaves).values()]

    @requires_avx2
    @pytest.mark.parametrize("n", [4, 8, 12, 16, 24, 128])
    @pytest.mark.parametrize("classes", [1, 5, 8, 9, 12, 13, 25])
    def test_avx2_and_portable_give_the_same_bits(self, n, classes, instruction_set):
        problem = make_problem(n, n, 3, 17, seed=n + classes)
        problem["readout_weight"] = torch.randn(classes, n, generator=torch.Generator().manual_seed(classes)) * 2
        problem["readout_bias"] = torch.randn(classes, generator=torch.Generator().manual_seed(3))
        for step_loss in (LOSSES["ce_ignore"], LOSSES["bce"]):
            results = {}
            for name in native.available_instruction_sets():  # 'avx512' too where the CPU has it
                instruction_set(name)
                results[name] = self._everything(problem, step_loss)
            for name, result in results.items():
                assert all(torch.equal(a, b) for a, b in zip(result, results["portable"])), (step_loss, name)

    @pytest.mark.parametrize("count", [2, 3])
    def test_thread_counts_give_the_same_bits(self, count, threads, thread_pool):
        """On one thread, and on `count` threads of each pool (the OpenMP team, threads of the
        kernels' own)."""
        problem = make_problem(32, 32, 7, 19, seed=1)
        threads(1)
        one = self._everything(problem, LOSSES["ce_ignore"])
        threads(count)
        for pool in native.available_thread_pools():
            thread_pool(pool)
            more = self._everything(problem, LOSSES["ce_ignore"])
            assert all(torch.equal(a, b) for a, b in zip(one, more)), pool


@requires_extension
class TestKeptLossGradients:
    """The forward keeps ∂ℓ_t/∂o_t for the backward (native._keeps_loss_gradients) or the backward
    forms the logits and their softmax again: the same bits wherever the states are the forward's."""

    def _run(self, problem, step_loss, keep, monkeypatch, memory="stored", dtype=torch.float32):
        monkeypatch.setattr(native, "_keeps_loss_gradients", lambda *arguments: keep)
        received = {}
        kernel_call = native._backward_kernel_call

        def watch(**arguments):
            received.update(arguments)
            kernel_call(**arguments)

        monkeypatch.setattr(native, "_backward_kernel_call", watch)
        classes = problem["readout_weight"].shape[0]
        targets = make_targets(step_loss, *problem["inputs"].shape[:2], classes)
        loss, leaves = native_loss(problem, targets, step_loss, memory=memory, dtype=dtype)
        grads = grads_of(loss, leaves)
        assert (received["loss_gradients"] != 0) == keep  # the path this run is about was taken
        return [loss.detach(), *grads.values()]

    @pytest.mark.parametrize("loss", ["ce", "ce_ignore", "ce_sum", "bce"])
    @pytest.mark.parametrize("kind", ["features", "tokens", "projected"])
    @pytest.mark.parametrize("classes", [1, 9, 13])
    def test_kept_and_formed_again_give_the_same_bits(self, loss, kind, classes, monkeypatch, instruction_set):
        """Every instruction set (the kept rows come from the 8-lane block in the fast builds and
        from the reference in the portable one), 19 steps (two full blocks of 8 and a tail of 3)."""
        problem = make_problem(24, 8, 3, 19, kind, seed=classes)
        problem["readout_weight"] = torch.randn(classes, 24, generator=torch.Generator().manual_seed(classes))
        problem["readout_bias"] = torch.randn(classes, generator=torch.Generator().manual_seed(4))
        results = []
        for name in native.available_instruction_sets():
            instruction_set(name)
            for keep in (False, True):
                results.append(self._run(problem, LOSSES[loss], keep, monkeypatch))
        for result in results[1:]:
            assert all(torch.equal(a, b) for a, b in zip(result, results[0]))

    @pytest.mark.parametrize("loss", ["ce_ignore", "bce"])
    def test_float64_kept_and_formed_again_give_the_same_bits(self, loss, monkeypatch):
        problem = make_problem(16, 16, 2, 11, seed=9)
        kept, formed = (self._run(problem, LOSSES[loss], keep, monkeypatch, dtype=torch.float64) for keep in (True, False))
        assert all(a.dtype == torch.float64 and torch.equal(a, b) for a, b in zip(kept, formed))

    @pytest.mark.parametrize("memory", ["reversible", "checkpointed"])
    @pytest.mark.parametrize("loss", ["ce_ignore", "bce"])
    def test_recomputed_states_keep_the_forward_gradients(self, memory, loss, monkeypatch):
        """With recomputed states the backward's logits would carry their drift; the kept ones are
        the forward's, and both stay within the tolerance of the float64 reference."""
        problem = make_problem(16, 16, 3, 40, seed=8)
        monkeypatch.setattr(native, "_keeps_loss_gradients", lambda *arguments: True)
        compare(problem, LOSSES[loss], memory=memory)
        compare(problem, LOSSES[loss], memory=memory, dtype=torch.float64)

    def test_which_losses_keep_them(self):
        """k values a step against what the step's inputs and targets already take."""
        def keeps(inputs, targets, classes, n=16):
            return native._keeps_loss_gradients(inputs, targets, torch.zeros(classes, n))

        copy = CopyTask(seq_len=30).batch("train", 0, 4)
        assert keeps(copy.inputs, copy.targets, 9)  # 36 bytes against 10 features and a target: 48
        ids = torch.zeros(2, 5, dtype=torch.long)
        assert keeps(ids, ids, 4) and not keeps(ids, ids, 5)  # two ids: 16 bytes
        assert keeps(torch.zeros(2, 5, 1), torch.zeros(2, 5, 300), 300)  # BCE targets: k values
        assert not keeps(torch.zeros(0, 5, 1), ids[:0], 1)  # no sequence, nothing to keep


@pytest.fixture
def instruction_set():
    before = native.instruction_set()
    yield native.set_instruction_set
    native.set_instruction_set(before)


@pytest.fixture
def thread_pool():
    before = native.thread_pool()
    yield native.set_thread_pool
    native.set_thread_pool(before)


@pytest.fixture
def threads():
    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)


@requires_extension
class TestErrors:
    def _call(self, targets, step_loss=LOSSES["ce"], output="loss", **extra):
        problem = make_problem(8, 8, 2, 3)
        return native.hadamard_recurrence_native(
            problem["inputs"], problem["h0"], problem["signs"], problem["weight_ih"], problem["bias"], 8,
            output=output, readout_weight=problem["readout_weight"], readout_bias=problem["readout_bias"],
            targets=targets, step_loss=step_loss, **extra,
        )

    def test_cross_entropy_targets(self):
        with pytest.raises(ShapeError, match=r"targets must have shape \(B=2, T=3\), got \(2, 4\)"):
            self._call(torch.zeros(2, 4, dtype=torch.int64))
        with pytest.raises(ShapeError, match="targets must be int64 class ids, got dtype torch.int32"):
            self._call(torch.zeros(2, 3, dtype=torch.int32))
        with pytest.raises(ShapeError, match=r"class ids in \[0, 5\), got values from 0 to 5"):
            self._call(torch.tensor([[0, 1, 5], [0, 0, 0]]))
        with pytest.raises(ShapeError, match=r"class ids in \[0, 5\) or the ignore_index -1, got values from -2 to 0"):
            self._call(torch.tensor([[-2, -1, 0], [0, 0, 0]]), LOSSES["ce_ignore"])
        with pytest.raises(ShapeError, match="targets must be a torch.Tensor, got list"):
            self._call([[0, 0, 0], [0, 0, 0]])

    def test_binary_cross_entropy_targets(self):
        with pytest.raises(ShapeError, match=r"targets must have shape \(B=2, T=3, k=5\), got \(2, 3\)"):
            self._call(torch.zeros(2, 3), LOSSES["bce"])
        with pytest.raises(ShapeError, match="must have the logits' dtype torch.float32, got torch.float64"):
            self._call(torch.zeros(2, 3, 5, dtype=torch.float64), LOSSES["bce"])
        with pytest.raises(HadamRNNError, match="no gradient to its targets"):
            self._call(torch.zeros(2, 3, 5, requires_grad=True), LOSSES["bce"])

    def test_arguments(self):
        with pytest.raises(HadamRNNError, match="needs step_loss, a hadamrnn.losses.StepLoss, got str"):
            self._call(torch.zeros(2, 3, dtype=torch.int64), "cross_entropy")
        with pytest.raises(HadamRNNError, match="targets and step_loss go with output='loss', got output='logits'"):
            self._call(torch.zeros(2, 3, dtype=torch.int64), output="logits")
        with pytest.raises(HadamRNNError, match="kind must be one of .*got 'mse'"):
            StepLoss("mse")
        with pytest.raises(HadamRNNError, match="reduction must be one of .*got 'none'"):
            StepLoss(reduction="none")
        with pytest.raises(HadamRNNError, match="ignore_index goes with kind='cross_entropy'"):
            StepLoss("binary_cross_entropy", ignore_index=-1)


class TestLayerAndHead:
    """``HadamRNN.readout_loss`` and ``SequenceTagger.loss`` on every backend equal the loss of the
    logits they return for inference."""

    @pytest.mark.parametrize("backend", ["reference", "dense", pytest.param("native", marks=requires_extension)])
    @pytest.mark.parametrize("loss", ["ce_ignore", "bce"])
    def test_layer_loss_equals_loss_of_readout(self, backend, loss):
        torch.manual_seed(0)
        rnn = HadamRNN(3, 16, backend=backend).double()
        x = torch.randn(4, 7, 3, dtype=torch.float64)
        weight = torch.randn(5, 16, dtype=torch.float64, requires_grad=True)
        bias = torch.randn(5, dtype=torch.float64, requires_grad=True)
        step_loss = LOSSES[loss]
        targets = make_targets(step_loss, 4, 7, 5, dtype=torch.float64)
        fused = rnn.readout_loss(x, weight, bias, targets, step_loss)
        plain = step_loss(rnn.readout(x, weight, bias), targets)
        parameters = [*rnn.parameters(), weight, bias]
        assert_relative_close(fused, plain, FLOAT64_RTOL, "loss")
        for a, b in zip(torch.autograd.grad(fused, parameters), torch.autograd.grad(plain, parameters)):
            assert_relative_close(a, b, FLOAT64_RTOL, "gradient")

    def test_layouts(self):
        torch.manual_seed(0)
        rnn = HadamRNN(3, 8, batch_first=False)
        x = torch.randn(6, 2, 3)  # (T, B, d)
        weight = torch.randn(4, 8)
        targets = torch.randint(0, 4, (6, 2))
        expected = StepLoss()(rnn.readout(x, weight), targets)
        torch.testing.assert_close(rnn.readout_loss(x, weight, None, targets, StepLoss()), expected)
        torch.testing.assert_close(
            rnn.readout_loss(x[:, 0], weight, None, targets[:, 0], StepLoss()), StepLoss()(rnn.readout(x[:, 0], weight), targets[:, 0])
        )
        with pytest.raises(ShapeError, match=r"targets must have shape \(B=2, T=6\), got \(6, 3\)"):
            rnn.readout_loss(x, weight, None, torch.zeros(3, 6, dtype=torch.int64), StepLoss())
        with pytest.raises(HadamRNNError, match="step_loss must be a hadamrnn.losses.StepLoss, got NoneType"):
            rnn.readout_loss(x, weight, None, targets, None)

    @pytest.mark.parametrize("backend", ["reference", pytest.param("native", marks=requires_extension)])
    def test_tagger_loss_on_the_copy_task(self, backend):
        task = CopyTask(seq_len=40, copy_length=4, train_size=8, val_size=2, test_size=2)
        batch = task.batch("train", 0, 8)
        torch.manual_seed(0)
        model = SequenceTagger(10, 16, 9, backend=backend)
        fused = model.loss(batch.inputs, batch.targets, task.step_loss)
        plain = task.loss(model(batch.inputs), batch.targets)
        torch.testing.assert_close(fused, plain, rtol=FLOAT32_RTOL, atol=0)
        fused_grads = torch.autograd.grad(fused, list(model.parameters()))
        plain_grads = torch.autograd.grad(plain, list(model.parameters()))
        for a, b in zip(fused_grads, plain_grads):
            assert relative_error(a, b) <= 1e-4  # two float32 computations of one gradient


def test_copy_task_loss_is_its_step_loss():
    task = CopyTask(seq_len=20, copy_length=2, train_size=4, val_size=2, test_size=2)
    batch = task.batch("train", 0, 4)
    logits = torch.randn(4, 20, 9)
    assert torch.equal(task.loss(logits, batch.targets), F.cross_entropy(logits.reshape(-1, 9), batch.targets.reshape(-1)))
    assert task.step_loss == StepLoss("cross_entropy")
