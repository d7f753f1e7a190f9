r"""Native CPU kernels: the fast Walsh–Hadamard transform and the fused Hadamard recurrence.

The C extension ``hadamrnn._kernels`` (sources in ``hadamrnn/_native/``) computes

* :func:`fwht_native`: ``y = u ⊙ FWHT_m(x) · scale`` on rows of length ``n``;
* :func:`hadamard_recurrence_native`: the whole sequence of
  :math:`h_t = W h_{t-1} + U x_t + b` (or its ReLU variant) with
  :math:`W = \mathrm{diag}(u)(I_{n/m} \otimes H_m)/\sqrt m`, forward and backward, with exactly the
  signature and semantics of :func:`hadamrnn.functional.hadamard_recurrence_reference`;
* :func:`hadamard_recurrence_tokens_native`: the same with token ids as inputs (``U x_t`` is the
  column ``U[:, id]``: one-hot inputs without the one-hot tensor).

Each is a :class:`torch.autograd.Function` whose forward and backward call C kernels on raw CPU
buffers (no torch headers): float32 with AVX2 + FMA when the CPU has them (checked at run time),
portable C otherwise, and float64 on the portable kernels. Kernels run on
``torch.get_num_threads()`` threads over the batch; no result depends on the number of threads.
The threads are those of PyTorch's OpenMP team where the process has one (:func:`thread_pool`):
that team spins for milliseconds after each parallel operator, and threads of the kernels' own
would compete with it for the same cores.

Every supported order runs natively. For a block of order ``m = r · 2^j`` with ``r > 1`` (a Paley
base matrix, e.g. ``96 = 12 · 8``) the row transform is the ``2^j``-point butterflies followed by the
``r × r`` base product (sums of whole rows of ``2^j`` entries, each times its sign ±1, an exact
sign flip, added in a fixed order, so the AVX2 and portable kernels still agree bit for bit); the
backward applies ``H_rᵀ``, which the kernels form from the core's ``H_r``. It costs about ``r``
additions per entry against ``log2(2^j)`` for the butterflies, so such sizes run several times
slower per unit than a neighbouring power of two (still far faster than the reference).

The extension is optional. Without it (``HADAMRNN_NO_EXTENSION=1`` when installing or when
running, or no C compiler at install time) :func:`is_available` is False,
:func:`unavailable_reason` says why, and :class:`~hadamrnn.layers.HadamRNN` with
``backend="auto"`` uses the pure-torch reference. ``HADAMRNN_NATIVE_ISA=portable`` (or
:func:`set_instruction_set`) forces the portable float32 kernels, which agree with the AVX2 ones
bit for bit; ``HADAMRNN_NATIVE_ISA=avx2`` keeps the AVX2 row transform on a CPU with AVX-512.
``HADAMRNN_NATIVE_THREADS=pthreads`` (or :func:`set_thread_pool`) gives the kernels threads of
their own instead of the OpenMP team; the results are the same bit for bit.
"""

from __future__ import annotations

import functools
import math
import os
import warnings

import torch
from torch.autograd.function import once_differentiable

from .errors import HadamRNNError, ShapeError
from .losses import StepLoss
from .core import base_matrix, check_block_size, check_hidden_size, hadamard_scale, split_order

__all__ = [
    "is_available",
    "unavailable_reason",
    "instruction_set",
    "available_instruction_sets",
    "set_instruction_set",
    "thread_pool",
    "available_thread_pools",
    "set_thread_pool",
    "fwht_native",
    "fwht_native_",
    "hadamard_recurrence_native",
    "hadamard_recurrence_tokens_native",
    "resolve_backend",
    "INLINE_PROJECTION_MAX_WIDTH",
    "MEMORIES",
    "CHECKPOINT_INTERVAL",
    "checkpoint_interval_for",
    "empty_cache",
    "POOLED_STATES_MIN_BYTES",
]

#: Widest input (features, or vocabulary for token ids) that the recurrence kernel projects
#: inside its time loop. Wider inputs are projected first by one GEMM (``F.linear`` or an
#: embedding lookup) and the kernel adds the projected rows: at 16 columns the in-loop projection
#: costs about as much as writing and reading back the projected sequence.
INLINE_PROJECTION_MAX_WIDTH = 16

_SUPPORTED_DTYPES = {torch.float32: "float32", torch.float64: "float64"}

#: What the backward of the recurrence keeps of the forward's states:
#:
#: * ``"stored"``: every state, ``(B, T, n)``; the backward reads them back;
#: * ``"reversible"``: only ``h_T`` (linear recurrence only): the backward walks time downwards
#:   recomputing each state from the next, ``h_{t-1} = W^{-1}(h_t - U x_t - b)``, which is exact
#:   up to rounding because ``W`` is orthogonal; memory ``O(B n)`` whatever ``T``;
#: * ``"checkpointed"``: the same, re-anchored on every ``k``-th state, which the forward stores
#:   (:data:`CHECKPOINT_INTERVAL` unless given): memory ``O(B n T / k)``, and the recomputed
#:   states drift for at most ``k`` steps.
MEMORIES = ("stored", "reversible", "checkpointed")

#: The default checkpoint interval ``k``. The error that the recomputation adds to the float32
#: gradients grows about linearly with the steps walked back from an anchor, at about three times
#: the rate of the stored-state backward's own float32 error (docs/performance.md). Re-anchored
#: every 256 steps it adds at most 1.4× (T = 1000) and 1.004× (T = 100,000) to that error, while
#: the checkpoints of B = 32, T = 100,000, n = 512 take 26 MB instead of 6.6 GB of states.
CHECKPOINT_INTERVAL = 256


def _load_extension():
    if os.environ.get("HADAMRNN_NO_EXTENSION", "").strip().lower() not in ("", "0", "false", "no"):
        return None, "HADAMRNN_NO_EXTENSION is set in the environment"
    try:
        from . import _kernels
    except ImportError as error:
        return None, (
            f"the C extension hadamrnn._kernels could not be imported ({error}); reinstall with a C "
            "compiler available and HADAMRNN_NO_EXTENSION unset"
        )
    return _kernels, None


_kernels, _UNAVAILABLE_REASON = _load_extension()


def is_available() -> bool:
    """Whether the C extension is built and loaded."""
    return _kernels is not None


def unavailable_reason() -> str | None:
    """Why the extension is not available, or None when it is."""
    return _UNAVAILABLE_REASON


def _require_extension():
    if _kernels is None:
        raise HadamRNNError(f"the native kernels are not available: {_UNAVAILABLE_REASON}")
    return _kernels


def instruction_set() -> str:
    """The instruction set of the float32 kernels in use: ``"avx512"``, ``"avx2"`` or ``"portable"``."""
    return _require_extension().instruction_set()


def available_instruction_sets() -> tuple[str, ...]:
    """The instruction sets this CPU can run: ``("portable",)``, ``("portable", "avx2")`` or
    ``("portable", "avx2", "avx512")``."""
    return _require_extension().available_instruction_sets()


def set_instruction_set(name: str) -> None:
    """Use the ``"portable"``, ``"avx2"`` or ``"avx512"`` float32 kernels from now on (process-wide).

    ``"avx512"`` is the AVX2 set with an AVX-512 row transform and AVX-512 element-wise passes of
    the fused read-out and loss (the default where the CPU has
    AVX-512 F, DQ and VL); all three agree bit for bit.

    Raises:
        HadamRNNError: ``name`` is unknown, or names a set this CPU lacks (``"avx2"`` needs AVX2 and
            FMA, ``"avx512"`` AVX-512 F, DQ and VL besides).
    """
    try:
        _require_extension().set_instruction_set(name)
    except ValueError as error:
        raise HadamRNNError(str(error)) from None


if _kernels is not None and os.environ.get("HADAMRNN_NATIVE_ISA"):
    set_instruction_set(os.environ["HADAMRNN_NATIVE_ISA"])


def thread_pool() -> str:
    """The threads that run the kernels' share of the batch: ``"openmp"`` (the process's OpenMP
    team, PyTorch's, the default where there is one) or ``"pthreads"`` (threads started per call;
    also in a child forked from a process that used the team, which does not survive ``fork()``)."""
    return _require_extension().thread_pool()


def available_thread_pools() -> tuple[str, ...]:
    """``("openmp", "pthreads")`` where the process has an OpenMP runtime, else ``("pthreads",)``."""
    return _require_extension().available_thread_pools()


def set_thread_pool(name: str) -> None:
    """Run the kernels on ``"openmp"`` or ``"pthreads"`` threads from now on (process-wide). No
    result depends on it.

    Raises:
        HadamRNNError: ``name`` is unknown, or is ``"openmp"`` where no OpenMP runtime is loaded.
    """
    try:
        _require_extension().set_thread_pool(name)
    except ValueError as error:
        raise HadamRNNError(str(error)) from None


if _kernels is not None and os.environ.get("HADAMRNN_NATIVE_THREADS"):
    set_thread_pool(os.environ["HADAMRNN_NATIVE_THREADS"])


# ------------------------------------------------------------------------------------------------
# Argument checks
# ------------------------------------------------------------------------------------------------


def _dtype_name(tensor: torch.Tensor, name: str) -> str:
    dtype_name = _SUPPORTED_DTYPES.get(tensor.dtype)
    if dtype_name is None:
        raise ShapeError(f"{name} must be float32 or float64 for the native kernels, got {tensor.dtype}")
    return dtype_name


def _check_cpu(tensor: torch.Tensor, name: str) -> None:
    if not tensor.is_cpu:
        raise ShapeError(f"{name} must be a CPU tensor for the native kernels, got device {tensor.device}")


def _check_like(tensor: torch.Tensor | None, name: str, shape: tuple[int, ...], dtype: torch.dtype) -> None:
    if tensor is None:
        return
    if not isinstance(tensor, torch.Tensor):
        raise ShapeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    _check_cpu(tensor, name)
    if tuple(tensor.shape) != shape:
        raise ShapeError(f"{name} must have shape {shape}, got {tuple(tensor.shape)}")
    if tensor.dtype != dtype:
        raise ShapeError(f"{name} must have dtype {dtype} (that of h0), got {tensor.dtype}")


def _address(tensor: torch.Tensor | None) -> int:
    return 0 if tensor is None else tensor.data_ptr()


def _threads() -> int:
    return max(1, torch.get_num_threads())


# The core's base matrices H_r and their transposes as int8 CPU tensors, made once: the kernels
# read them by address, and the cache keeps them alive.
_BASE_CACHE: dict[tuple[int, bool], torch.Tensor] = {}


def _base(block_size: int, transpose: bool = False) -> dict:
    """The keyword arguments that give the kernels the base matrix of blocks of order ``m``:
    ``base_order`` ``r`` and the address of ``H_r`` (``H_rᵀ`` with ``transpose``), 0 for ``r = 1``."""
    r, _ = split_order(block_size, "block_size")
    if r == 1:
        return dict(base_order=1, base=0)
    key = (r, transpose)
    matrix = _BASE_CACHE.get(key)
    if matrix is None:
        values = base_matrix(r, "int8")
        matrix = torch.from_numpy((values.T if transpose else values).copy())  # contiguous
        _BASE_CACHE[key] = matrix
    return dict(base_order=r, base=matrix.data_ptr())


# ------------------------------------------------------------------------------------------------
# FWHT
# ------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256, typed=True)
def _fwht_plan(n: int, block_size: int | None, transpose: bool) -> tuple[int, int, int]:
    """``(m, r, address of H_r or H_rᵀ)`` for rows of ``n`` in blocks of ``block_size``, checked by
    the core once per combination: a transform call costs a few microseconds of Python, as much as
    the transform of a (128, 512) batch takes, so the checks of the sizes are not repeated."""
    m = check_block_size(check_hidden_size(n, "the size of the last dimension of x"), block_size)
    base = _base(m, transpose)
    return m, base["base_order"], base["base"]


def _plan_of(n: int, block_size, transpose: bool) -> tuple[int, int, int]:
    if block_size is None or type(block_size) is int:  # hashable, and typed: True is not 1
        return _fwht_plan(n, block_size, transpose)
    return _fwht_plan.__wrapped__(n, block_size, transpose)  # the checks raise with the value received


def _check_fwht_arguments(x, signs, block_size, what: str) -> tuple[int, int]:
    if not isinstance(x, torch.Tensor):
        raise ShapeError(f"{what} expects x as a torch.Tensor, got {type(x).__name__}")
    if x.ndim == 0:
        raise ShapeError(f"{what} expects x of shape (..., n), got a 0-d tensor")
    _check_cpu(x, "x")
    _dtype_name(x, "x")
    n = x.shape[-1]
    m = _plan_of(n, block_size, False)[0]
    _check_like(signs, "signs", (n,), x.dtype)
    return n, m


def _fwht_into(
    source: torch.Tensor, target: torch.Tensor, signs, scale: float, block_size: int, transpose: bool = False
) -> None:
    """``target = u ⊙ FWHT_m(source) · scale`` on contiguous tensors of the same shape and dtype
    (``FWHT_m`` applies ``I ⊗ H_m``, or ``(I ⊗ H_m)ᵀ`` with ``transpose``)."""
    n = source.shape[-1]
    rows = source.numel() // n
    if rows == 0:
        return
    signs = None if signs is None else signs.detach().contiguous()  # kept alive during the call
    _, base_order, base = _plan_of(n, block_size, transpose)
    base_arguments = {} if base_order == 1 else {"base_order": base_order, "base": base}
    # Positional (dtype, src, dst, rows, n, block_size, signs, scale, threads): parsing keywords
    # costs the C call 4 times as much.
    _require_extension().fwht(
        _SUPPORTED_DTYPES[source.dtype], source.data_ptr(), target.data_ptr(), rows, n, block_size,
        _address(signs), float(scale), _threads(), **base_arguments,
    )


class _FWHTFunction(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx, x: torch.Tensor, signs: torch.Tensor | None, scale: float, block_size: int, transpose: bool
    ) -> torch.Tensor:
        ctx.save_for_backward(x, signs)  # the inputs themselves, so that the backward is differentiable
        x = x.contiguous()
        y = torch.empty_like(x)
        _fwht_into(x, y, signs, scale, block_size, transpose)
        ctx.scale, ctx.block_size, ctx.transpose = scale, block_size, transpose
        return y

    @staticmethod
    def backward(ctx, grad_y: torch.Tensor):
        x, signs = ctx.saved_tensors
        needs_x, needs_signs = ctx.needs_input_grad[:2]
        grad_x = grad_signs = None
        # y = u ⊙ (H x)·s, so ∂L/∂x = s·Hᵀ(u ⊙ ∂L/∂y): the transposed transform, run without signs
        # on the sign-flipped gradient (and so differentiable again). For Sylvester blocks H is
        # symmetric and this is the forward transform itself.
        if needs_x:
            flipped = grad_y if signs is None else grad_y * signs
            grad_x = _FWHTFunction.apply(flipped, None, ctx.scale, ctx.block_size, not ctx.transpose)
        # ∂L/∂u_i = Σ over rows of ∂L/∂y_i · s (H x)_i.
        if needs_signs:
            transformed = _FWHTFunction.apply(x, None, ctx.scale, ctx.block_size, ctx.transpose)
            grad_signs = (grad_y * transformed).reshape(-1, x.shape[-1]).sum(0)
        return grad_x, grad_signs, None, None, None


def fwht_native(
    x: torch.Tensor,
    signs: torch.Tensor | None = None,
    scale: float = 1.0,
    block_size: int | None = None,
    *,
    transpose: bool = False,
) -> torch.Tensor:
    r"""Signed, scaled fast Hadamard transform of the last dimension, in C; differentiable.

    Computes ``y = u ⊙ FWHT_m(x) · scale``, i.e. per row
    :math:`y = \mathrm{scale}\cdot\mathrm{diag}(u)\,(I_{n/m} \otimes H_m)\,x`, equivalently
    ``x @ block_hadamard(n, m).T * u * scale`` with the dense matrix (``(I ⊗ H_m)ᵀ`` in place of
    ``I ⊗ H_m`` with ``transpose``; the same for Sylvester blocks, which are symmetric).
    ``signs=u``, ``scale=1/√m`` gives ``W x`` for the HadamRNN matrix ``W``; ``block_size=None``
    (``m = n``) is the full transform and ``m = 1`` the identity. Costs ``n·log2(m)`` additions per
    row for ``m = 2^j``, and ``n·(log2(m/r) + r - 1)`` for ``m = r · 2^j``.

    Args:
        x: ``(..., n)`` float32 or float64 CPU tensor, ``n`` a supported order.
        signs: ``(n,)`` sign vector ``u`` (usually ±1) of the dtype of ``x``, or None for all ones.
        scale: the scalar factor (``1/√m`` for an orthogonal transform).
        block_size: ``m``, a supported order dividing ``n``; None means ``m = n``.
        transpose: apply the transposed block matrix.

    Returns:
        ``(..., n)``, same dtype as ``x``.

    Example:
        >>> fwht_native(torch.tensor([1.0, 0.0, 0.0, 0.0]))
        tensor([1., 1., 1., 1.])
    """
    _, m = _check_fwht_arguments(x, signs, block_size, "fwht_native")
    if torch.is_grad_enabled() and (x.requires_grad or (signs is not None and signs.requires_grad)):
        return _FWHTFunction.apply(x, signs, float(scale), m, bool(transpose))
    # No graph to record: skip the autograd machinery, which costs more than a small transform.
    x = x.contiguous()
    y = torch.empty_like(x)
    _fwht_into(x, y, signs, scale, m, bool(transpose))
    return y


def fwht_native_(
    x: torch.Tensor,
    signs: torch.Tensor | None = None,
    scale: float = 1.0,
    block_size: int | None = None,
    *,
    transpose: bool = False,
) -> torch.Tensor:
    """In-place :func:`fwht_native`: ``x ← u ⊙ FWHT_m(x) · scale``; returns ``x``.

    Not differentiable: ``x`` must be contiguous, and must not require grad while grad mode is on.

    Shapes:
        ``x``: ``(..., n)``; ``signs``: ``(n,)``.
    """
    _, m = _check_fwht_arguments(x, signs, block_size, "fwht_native_")
    if not x.is_contiguous():
        raise ShapeError(f"fwht_native_ needs a contiguous x to transform in place, got strides {x.stride()}")
    if torch.is_grad_enabled() and x.requires_grad:
        raise ShapeError("fwht_native_ is not differentiable: expected x without requires_grad, use fwht_native")
    _fwht_into(x, x, signs, scale, m, bool(transpose))
    if not x.is_inference():
        torch.autograd.graph.increment_version(x)  # as torch's own in-place operations do
    return x


# ------------------------------------------------------------------------------------------------
# The recurrence
# ------------------------------------------------------------------------------------------------

#: Returned states of at least this many bytes take their memory from the kernels' pool (see
#: :func:`empty_cache`): from 32 MiB on, malloc maps every allocation afresh from the system, and
#: the first touch of each page costs a fault.
POOLED_STATES_MIN_BYTES = 32 << 20


def _new_states(h0: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """An uninitialised ``(B, T, n)`` tensor like ``h0`` for the states the forward returns.

    Large ones come from the extension's pool: a tensor over a ``states_buffer``, whose memory
    returns to the pool (two blocks at most) when the last tensor on it is freed, so that the next
    forward of the same shape writes into pages already mapped instead of faulting in 160 MB of
    fresh ones at the pMNIST shape (15 ms, as long as the forward kernel itself)."""
    count = shape[0] * shape[1] * shape[2]
    if count * h0.element_size() < POOLED_STATES_MIN_BYTES:
        return h0.new_empty(shape)
    buffer = _kernels.states_buffer(count * h0.element_size())
    return torch.frombuffer(buffer, dtype=h0.dtype, count=count).view(shape)


def empty_cache() -> int:
    """Free the memory that the pool of released states holds; returns how many bytes it held.

    ``HadamRNN.forward`` returns every state, ``(B, T, n)``; when such a tensor of at least 32 MiB
    is freed, its memory stays with the native kernels (two blocks at most, the latest released)
    for the next forward of the same size, which then does not pay the system's page faults on
    fresh memory again. This returns that memory to the system, as ``torch.cuda.empty_cache``
    does for CUDA's cache. Without the extension it does nothing and returns 0.
    """
    if _kernels is None:
        return 0
    held = _kernels.states_pool_bytes()
    _kernels.release_states_pool()
    return held


#: What the recurrence Function returns (see ``_RecurrenceFunction``).
_OUTPUTS = ("states", "last", "logits", "states_and_last", "loss")

#: The kernels' name of each :class:`~hadamrnn.losses.StepLoss` kind.
_LOSS_KINDS = {"cross_entropy": "cross_entropy", "binary_cross_entropy": "binary_cross_entropy"}


class _RecurrenceFunction(torch.autograd.Function):
    """The recurrence on inputs of one kind (see ``input_kind`` in ``hadamrnn/_native/kernels.h``):

    * ``"features"``: ``inputs`` ``(B, T, d)``, drive ``U x_t`` formed in the loop from ``columns = Uᵀ``;
    * ``"tokens"``: ``inputs`` ``(B, T)`` int64, drive ``U[:, id] = columns[id]``;
    * ``"projected"``: ``inputs`` ``(B, T, n)`` already projected, ``columns`` None.

    Returns, by ``output``: every state ``(B, T, n)`` (``"states"``); only ``h_T`` ``(B, n)``
    (``"last"``); the fused read-out ``V·ReLU(h_t) + c`` for every step, ``(B, T, k)``
    (``"logits"``); or every state and, as a second output of its own, ``h_T``
    (``"states_and_last"``, what ``HadamRNN.forward`` returns). In ``"last"`` and ``"logits"`` the
    states stay inside: the backward receives a gradient the size of what was returned, not a
    ``(B, T, n)`` tensor of mostly zeros. With ``"states_and_last"`` the backward receives the
    gradients of the two outputs separately, and None (not a tensor of zeros: gradients are not
    materialised) for an output that no loss reached, so a loss on ``h_T`` alone costs no
    ``(B, T, n)`` gradient either. The backward runs the adjoint recurrence in C.
    """

    @staticmethod
    def forward(
        ctx, inputs, h0, signs, columns, bias, readout_weight, readout_bias, targets, kind, block_size, relu, output,
        checkpoint_interval, step_loss, count, anchor_interval=0,
    ):
        batch, steps = inputs.shape[:2]
        # With a checkpoint interval k the forward keeps only h_t for t = k, 2k, ... and h_T.
        kept = -(-steps // checkpoint_interval) if checkpoint_interval else steps
        states = _new_states(h0, (batch, kept, h0.shape[1]))
        logits = None
        if output == "logits":
            logits = h0.new_empty((batch, steps, readout_weight.shape[0]))
        total = torch.zeros((), dtype=torch.float64) if output == "loss" else None
        # Cross-entropy: log Σ_j exp(o_tj) of every step, (B, T), for the backward's softmax.
        normalizers = h0.new_empty((batch, steps)) if output == "loss" and step_loss.kind == "cross_entropy" else None
        loss_gradients = None
        if output == "loss" and _keeps_loss_gradients(inputs, targets, readout_weight):
            loss_gradients = h0.new_empty((batch, steps, readout_weight.shape[0]))
        ctx.kind, ctx.block_size, ctx.relu, ctx.output = kind, block_size, relu, output
        ctx.checkpoint_interval, ctx.step_loss, ctx.count = checkpoint_interval, step_loss, count
        ctx.anchor_interval = anchor_interval
        # An unused output's gradient reaches the backward as None, which the kernel reads as zero.
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(
            inputs, h0, signs, columns, bias, readout_weight, readout_bias, states, targets, normalizers, loss_gradients
        )
        _require_extension().recurrence_forward(
            **_problem(kind, relu, block_size, inputs, h0, signs, columns, bias, states, checkpoint_interval),
            **_readout(readout_weight, readout_bias),
            **_loss(step_loss, targets, normalizers, loss_gradients),
            logits=_address(logits),
            loss_total=_address(total),
        )
        if output == "loss":
            # The kernel sums the steps' losses in double; the reduction divides once, then rounds.
            return h0.new_tensor(_reduced(float(total), step_loss, count))
        if output == "states":
            return states
        if output == "last":
            return states[:, -1].clone()  # a copy: the states themselves stay private
        if output == "states_and_last":
            # h_T as a tensor of its own (a copy, not a view of the states), so that its gradient
            # reaches the backward separately.
            return states, states[:, -1].clone()
        return logits

    @staticmethod
    @once_differentiable
    def backward(ctx, *grad_outputs):
        (inputs, h0, signs, columns, bias, readout_weight, readout_bias, states, targets, normalizers,
         loss_gradients) = ctx.saved_tensors
        loss_gradient = 0.0
        if ctx.output == "states_and_last":
            incoming = {"grad_states": grad_outputs[0], "grad_last": grad_outputs[1]}
        elif ctx.output == "loss":
            incoming = {}
            if grad_outputs[0] is None:
                return (None,) * 16
            loss_gradient = _reduced(float(grad_outputs[0]), ctx.step_loss, ctx.count, empty=0.0)
        else:
            names = {"states": "grad_states", "last": "grad_last", "logits": "grad_logits"}
            incoming = {names[ctx.output]: grad_outputs[0]}
        # Kept referenced while the kernel reads their buffers; None is zero to the kernel.
        incoming = {name: None if grad is None else grad.contiguous() for name, grad in incoming.items()}
        needs = ctx.needs_input_grad
        wants = {
            "grad_inputs": needs[0] and ctx.kind != "tokens",
            "grad_h0": needs[1],
            "grad_signs": needs[2],
            "grad_columns": needs[3],
            "grad_bias": needs[4],
            "grad_readout_weight": needs[5],
            "grad_readout_bias": needs[6],
        }
        if not any(wants.values()) or (ctx.output != "loss" and all(grad is None for grad in incoming.values())):
            return (None,) * 16
        # With every state stored and no gradient on them (a loss on h_T alone), the backward may
        # walk back as the checkpointed one does, re-anchored on every k-th stored state, instead
        # of reading all (B, T, n) of them.
        anchor = ctx.anchor_interval if incoming.get("grad_states", 0) is None else 0
        like = {
            "grad_inputs": inputs,
            "grad_h0": h0,
            "grad_signs": signs,
            "grad_columns": columns,
            "grad_bias": bias,
            "grad_readout_weight": readout_weight,
            "grad_readout_bias": readout_bias,
        }
        grads = {name: torch.empty_like(like[name]) if wanted else None for name, wanted in wants.items()}
        _backward_kernel_call(
            **_problem(
                ctx.kind, ctx.relu, ctx.block_size, inputs, h0, signs, columns, bias, states, ctx.checkpoint_interval
            ),
            **_readout(readout_weight, readout_bias),
            **_loss(ctx.step_loss, targets, normalizers, loss_gradients),
            loss_gradient=loss_gradient,
            **{"grad_states": 0, **{name: _address(grad) for name, grad in incoming.items()}},
            **{name: _address(grad) for name, grad in grads.items()},
            **({"anchor_interval": anchor} if anchor else {}),
        )
        return (
            grads["grad_inputs"],
            grads["grad_h0"],
            grads["grad_signs"],
            grads["grad_columns"],
            grads["grad_bias"],
            grads["grad_readout_weight"],
            grads["grad_readout_bias"],
            *(None,) * 9,
        )


def _backward_kernel_call(**arguments) -> None:
    """The C backward of the recurrence (a module-level name, so that tests can watch what it
    receives)."""
    _require_extension().recurrence_backward(**arguments)


def _readout(weight: torch.Tensor | None, bias: torch.Tensor | None) -> dict:
    """The keyword arguments that describe the fused read-out (none when ``weight`` is None)."""
    return dict(
        readout_size=0 if weight is None else weight.shape[0],
        readout_weight=_address(weight),
        readout_bias=_address(bias),
    )


def _keeps_loss_gradients(inputs: torch.Tensor, targets: torch.Tensor, readout_weight: torch.Tensor) -> bool:
    """Whether the fused loss's forward keeps ``∂ℓ_t/∂o_t`` of every step, ``(B, T, k)``, for the
    backward, which then forms neither the logits nor their softmax again (a read-out of ``k n``
    products and ``k`` exponentials a step, a sixth of the copy-task step).

    It keeps them when, per step, they take no more memory than the step's inputs and targets
    already do, so that the training step's memory stays within a constant factor of its batch's
    whatever the memory mode: ``k`` values against ``d`` features and a target at the copy task
    (36 bytes against 48), but not ``k`` classes over token ids (a vocabulary against two ids).
    """
    def per_step(tensor: torch.Tensor) -> int:
        return tensor[0, 0].numel() * tensor.element_size() if tensor.numel() else 0

    classes = readout_weight.shape[0]
    return classes * readout_weight.element_size() <= per_step(inputs) + per_step(targets)


def _loss(step_loss, targets: torch.Tensor | None, normalizers: torch.Tensor | None,
          loss_gradients: torch.Tensor | None = None) -> dict:
    """The keyword arguments that describe the fused loss (none when ``step_loss`` is None)."""
    if step_loss is None:
        return dict(loss="none")
    ignore = step_loss.ignore_index
    return dict(
        loss=_LOSS_KINDS[step_loss.kind],
        targets=targets.data_ptr(),
        has_ignore_index=ignore is not None,
        ignore_index=0 if ignore is None else ignore,
        normalizers=_address(normalizers),
        loss_gradients=_address(loss_gradients),
    )


def _reduced(value: float, step_loss, count: int, empty: float = math.nan) -> float:
    """``value`` (a sum over steps, or the gradient of the reduced loss) times the reduction's
    factor: ``1/count`` for ``"mean"`` (``empty`` when nothing counted, as torch's NaN mean of no
    scored step), 1 for ``"sum"``."""
    if step_loss.reduction == "sum":
        return value
    return value / count if count else empty


def _problem(kind, relu, block_size, inputs, h0, signs, columns, bias, states, checkpoint_interval=0) -> dict:
    """The keyword arguments that describe one recurrence to the C kernels."""
    batch, steps = inputs.shape[:2]
    n = h0.shape[1]
    width = n if kind == "projected" else columns.shape[0]  # d features, or V token ids
    return dict(
        dtype=_SUPPORTED_DTYPES[h0.dtype],
        kind=kind,
        relu=relu,
        batch=batch,
        steps=steps,
        hidden=n,
        block_size=block_size,
        scale=hadamard_scale(block_size),
        input_width=width,
        inputs=inputs.data_ptr(),
        h0=h0.data_ptr(),
        signs=signs.data_ptr(),
        columns=_address(columns),
        bias=_address(bias),
        states=states.data_ptr(),
        checkpoint_interval=checkpoint_interval,
        threads=_threads(),
        **_base(block_size),  # the kernels form H_rᵀ for the backward themselves
    )


def _check_recurrence(h0, signs, weight_ih, bias, recurrence) -> tuple[int, int]:
    """Check the tensors both input kinds share; returns ``(n, d)`` with ``d`` the columns of ``U``."""
    if recurrence not in ("linear", "relu"):
        raise HadamRNNError(f"recurrence must be 'linear' or 'relu', got {recurrence!r}")
    if not isinstance(h0, torch.Tensor) or h0.ndim != 2:
        shape = tuple(h0.shape) if isinstance(h0, torch.Tensor) else type(h0).__name__
        raise ShapeError(f"h0 must be a (B, n) tensor, got {shape}")
    _check_cpu(h0, "h0")
    _dtype_name(h0, "h0")
    n = h0.shape[1]
    if not isinstance(weight_ih, torch.Tensor) or weight_ih.ndim != 2 or weight_ih.shape[0] != n:
        shape = tuple(weight_ih.shape) if isinstance(weight_ih, torch.Tensor) else type(weight_ih).__name__
        raise ShapeError(f"weight_ih must have shape (n={n}, d), got {shape}")
    _check_like(weight_ih, "weight_ih", (n, weight_ih.shape[1]), h0.dtype)
    _check_like(signs, "signs", (n,), h0.dtype)
    _check_like(bias, "bias", (n,), h0.dtype)
    return n, weight_ih.shape[1]


def _check_sizes(n: int, block_size: int | None) -> int:
    """The block size ``m`` of a recurrence on states of size ``n``, by the rules of the core."""
    return check_block_size(check_hidden_size(n, "h0.shape[1] (the hidden size n)"), block_size)


def _check_output(output, readout_weight, readout_bias, n: int, dtype: torch.dtype, targets=None, step_loss=None,
                  batch: int = 0, steps: int = 0) -> int:
    """Check the output, the read-out and the loss; returns the count that a mean loss divides by
    (0 without a loss)."""
    if output not in _OUTPUTS:
        raise HadamRNNError(f"output must be one of {_OUTPUTS}, got {output!r}")
    if output != "loss" and (targets is not None or step_loss is not None):
        raise HadamRNNError(f"targets and step_loss go with output='loss', got output={output!r}")
    if output not in ("logits", "loss"):
        if readout_weight is not None or readout_bias is not None:
            raise HadamRNNError(
                f"readout_weight and readout_bias go with output='logits' or 'loss', got output={output!r}"
            )
        return 0
    if not isinstance(readout_weight, torch.Tensor) or readout_weight.ndim != 2 or readout_weight.shape[1] != n:
        shape = tuple(readout_weight.shape) if isinstance(readout_weight, torch.Tensor) else type(readout_weight).__name__
        raise ShapeError(f"output={output!r} needs readout_weight of shape (k, n={n}), got {shape}")
    _check_like(readout_weight, "readout_weight", tuple(readout_weight.shape), dtype)
    _check_like(readout_bias, "readout_bias", (readout_weight.shape[0],), dtype)
    if output == "logits":
        return 0
    if not isinstance(step_loss, StepLoss):
        raise HadamRNNError(f"output='loss' needs step_loss, a hadamrnn.losses.StepLoss, got {type(step_loss).__name__}")
    classes = readout_weight.shape[0]
    step_loss.check_targets(targets, batch, steps, classes, dtype)
    _check_cpu(targets, "targets")
    if targets.requires_grad:
        raise HadamRNNError("the fused loss gives no gradient to its targets: expected targets without requires_grad")
    return step_loss.count(targets, classes)


def checkpoint_interval_for(memory: str, steps: int, recurrence: str, output: str, interval: int | None = None) -> int:
    """The kernels' checkpoint interval for ``memory`` (see :data:`MEMORIES`): 0 keeps every state,
    ``k > 0`` keeps every ``k``-th (``T`` for ``"reversible"``: only ``h_T``).

    Raises:
        HadamRNNError: an unknown ``memory``; ``"reversible"`` or ``"checkpointed"`` with the ReLU
            recurrence (its step cannot be inverted) or with an output that returns every state
            (they are kept anyway); a checkpoint interval below 1.
    """
    if memory not in MEMORIES:
        raise HadamRNNError(f"memory must be one of {MEMORIES}, got {memory!r}")
    if memory == "stored":
        return 0
    if recurrence != "linear":
        raise HadamRNNError(
            f"memory={memory!r} needs the linear recurrence, got recurrence={recurrence!r}: the ReLU step "
            "cannot be inverted, so its backward keeps the stored states (memory='stored')"
        )
    if output not in ("last", "logits", "loss"):
        raise HadamRNNError(
            f"memory={memory!r} goes with output='last', 'logits' or 'loss', got output={output!r}: "
            "that output returns every state, so the backward reads them (memory='stored')"
        )
    if memory == "reversible":
        return max(1, steps)
    if interval is None:
        interval = CHECKPOINT_INTERVAL
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
        raise HadamRNNError(f"checkpoint_interval must be a positive integer, got {interval!r}")
    return interval


def _run(
    inputs, kind, h0, signs, columns, bias, block_size, recurrence, output, readout_weight, readout_bias,
    checkpoint_interval=0, targets=None, step_loss=None, count=0, anchor_interval=0,
):
    batch, steps = inputs.shape[:2]
    if batch == 0 or steps == 0:  # nothing to run; no gradient flows (as in the reference)
        if output == "loss":
            return h0.new_tensor(_reduced(0.0, step_loss, count))
        if output == "last":
            return h0.new_zeros(batch, h0.shape[1]) if batch == 0 else h0
        if output == "states_and_last":
            last = h0.new_zeros(batch, h0.shape[1]) if batch == 0 else h0
            return h0.new_zeros(batch, steps, h0.shape[1]), last
        width = h0.shape[1] if output == "states" else readout_weight.shape[0]
        return h0.new_zeros(batch, steps, width)
    tensors = (inputs, h0, signs, columns, bias, readout_weight, readout_bias, targets)
    contiguous = [None if tensor is None else tensor.contiguous() for tensor in tensors]
    return _RecurrenceFunction.apply(
        *contiguous, kind, block_size, recurrence == "relu", output, checkpoint_interval, step_loss, count,
        anchor_interval,
    )


def hadamard_recurrence_native(
    x: torch.Tensor,
    h0: torch.Tensor,
    signs: torch.Tensor,
    weight_ih: torch.Tensor,
    bias: torch.Tensor | None,
    block_size: int,
    recurrence: str = "linear",
    *,
    output: str = "states",
    readout_weight: torch.Tensor | None = None,
    readout_bias: torch.Tensor | None = None,
    memory: str = "stored",
    checkpoint_interval: int | None = None,
    targets: torch.Tensor | None = None,
    step_loss: StepLoss | None = None,
) -> torch.Tensor:
    r"""The Hadamard recurrence over a whole sequence, forward and backward in C.

    The same function, arguments and gradients as
    :func:`hadamrnn.functional.hadamard_recurrence_reference`: for ``t = 1..T``

    .. math:: h_t = W h_{t-1} + U x_t + b \quad(\text{linear}), \qquad
              h_t = \mathrm{ReLU}(W h_{t-1} + U x_t + b) \quad(\text{relu}),

    with :math:`W = \mathrm{diag}(u)(I_{n/m} \otimes H_m)/\sqrt m` applied as
    ``u ⊙ FWHT_m(h) / √m``, never materialised (the dense equivalent is
    ``h_t = h_{t-1} @ W.T + x_t @ U.T + b``); ``H_m = S_m`` for ``m = 2^j`` and
    ``H_r ⊗ S_{2^j}`` for ``m = r · 2^j``. Gradients flow to ``x``, ``h0``, ``signs`` (as
    :math:`\partial L/\partial u_i = \sum_{b,t} \delta_{t,i}(H_m h_{t-1})_i/\sqrt m`; the
    straight-through estimator to the latent signs stays with ``ste_sign`` upstream), ``weight_ih``
    and ``bias``. Inputs with at most :data:`INLINE_PROJECTION_MAX_WIDTH` features are projected
    inside the time loop; wider ones by one ``F.linear`` first. The drive ``U x_t + b`` is formed
    before it is added to ``W h_{t-1}``, as in the reference.

    Args:
        x: ``(B, T, d)`` inputs.
        h0: ``(B, n)`` initial state.
        signs: ``(n,)`` the sign vector ``u``.
        weight_ih: ``(n, d)`` the input matrix ``U`` (already quantized).
        bias: ``(n,)`` or None.
        block_size: ``m`` (``n`` for full HadamRNN).
        recurrence: ``"linear"`` or ``"relu"``.
        output: what to return (and so what the backward receives a gradient for):
            ``"states"``, every ``h_t``; ``"last"``, only ``h_T`` (many-to-one heads: no
            ``(B, T, n)`` gradient of zeros); ``"logits"``, the fused read-out
            ``V·ReLU(h_t) + c`` of every step (many-to-many heads: no ``(B, T, n)`` activations
            or gradients outside the kernel); ``"states_and_last"``, every ``h_t`` and ``h_T`` as a
            second tensor with its own gradient (``HadamRNN.forward``: a loss on ``h_T`` alone
            costs no ``(B, T, n)`` gradient); ``"loss"``, the scalar ``step_loss`` of the fused
            read-out against ``targets``, computed in the kernel from each step's logits while
            they are in registers (no ``(B, T, k)`` logits or gradient tensors: the forward keeps
            ``∂ℓ_t/∂o_t`` for the backward where that takes no more memory than the batch's
            inputs and targets, and otherwise the backward forms it again from ``h_t``).
        readout_weight: ``(k, n)`` the read-out ``V`` (already quantized), with ``"logits"`` and
            ``"loss"``.
        readout_bias: ``(k,)`` the read-out bias ``c``, or None, with ``"logits"`` and ``"loss"``.
        memory: what the backward keeps of the states (:data:`MEMORIES`): ``"stored"`` (every
            state), ``"reversible"`` (only ``h_T``: every other state is recomputed backwards by
            inverting the orthogonal step) or ``"checkpointed"`` (every ``checkpoint_interval``-th
            state as well). The last two need the linear recurrence and ``output="last"`` or
            ``"logits"``; their gradients differ from the stored ones by the rounding of the
            recomputation (docs/performance.md).
        checkpoint_interval: ``k`` for ``"checkpointed"``; None is :data:`CHECKPOINT_INTERVAL`.
        targets: with ``"loss"``: ``(B, T)`` int64 class ids for cross-entropy, ``(B, T, k)`` of
            the dtype of ``h0`` for binary cross-entropy (no gradient flows to them).
        step_loss: with ``"loss"``: the :class:`~hadamrnn.losses.StepLoss` (kind, ignore index,
            reduction); its call on the ``"logits"`` output is the reference.

    All tensors are float32 (AVX2 or portable kernels) or float64 (portable kernels), on the CPU,
    of one dtype.

    Returns:
        ``(B, T, n)`` every ``h_t``; ``(B, n)`` ``h_T``; ``(B, T, k)`` the read-out; the pair
        ``((B, T, n), (B, n))``; or the 0-d loss, by ``output``.
    """
    n, d = _check_recurrence(h0, signs, weight_ih, bias, recurrence)
    m = _check_sizes(n, block_size)
    interval = _interval_of(x, memory, recurrence, output, checkpoint_interval)
    return _features_recurrence(
        x, h0, signs, weight_ih, bias, n, m, d, recurrence, output, readout_weight, readout_bias, interval,
        targets, step_loss,
    )


def _interval_of(inputs, memory, recurrence, output, checkpoint_interval) -> int:
    steps = inputs.shape[1] if isinstance(inputs, torch.Tensor) and inputs.ndim >= 2 else 0
    return checkpoint_interval_for(memory, steps, recurrence, output, checkpoint_interval)


def _recurrence_for_layer(
    x, h0, signs, weight_ih, bias, block_size: int, recurrence: str, *, output="states", readout_weight=None,
    readout_bias=None, checkpoint_interval=0, targets=None, step_loss=None, anchor_interval=0,
) -> torch.Tensor:
    """:func:`hadamard_recurrence_native` for :class:`~hadamrnn.layers.HadamRNN`, whose
    parametrization checked ``n`` and ``block_size`` when it was built: the same checks of the
    tensors (they guard the raw buffers the kernels read), without a second check of the sizes.

    ``anchor_interval=k > 0`` (linear recurrence, every state returned): a backward that receives
    no gradient of the states (a loss on ``h_T`` alone) recomputes them as ``memory="checkpointed"``
    does, re-anchored on every ``k``-th stored state, instead of reading them all back."""
    n, d = _check_recurrence(h0, signs, weight_ih, bias, recurrence)
    if anchor_interval and recurrence != "linear":
        raise HadamRNNError(f"anchor_interval needs the linear recurrence, got recurrence={recurrence!r}")
    return _features_recurrence(
        x, h0, signs, weight_ih, bias, n, block_size, d, recurrence, output, readout_weight, readout_bias,
        checkpoint_interval, targets, step_loss, anchor_interval,
    )


def _features_recurrence(
    x, h0, signs, weight_ih, bias, n, m, d, recurrence, output, readout_weight, readout_bias, checkpoint_interval=0,
    targets=None, step_loss=None, anchor_interval=0,
):
    """Check ``x`` and the read-out, and run the recurrence on features (``U x_t`` in the loop for
    narrow ``x``, one ``F.linear`` first for wide ``x``)."""
    if not isinstance(x, torch.Tensor) or x.ndim != 3 or x.shape[0] != h0.shape[0] or x.shape[2] != d:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ShapeError(f"x must have shape (B={h0.shape[0]}, T, d={d}), got {shape}")
    _check_like(x, "x", tuple(x.shape), h0.dtype)
    count = _check_output(output, readout_weight, readout_bias, n, h0.dtype, targets, step_loss, *x.shape[:2])
    readout = (output, readout_weight, readout_bias, checkpoint_interval, targets, step_loss, count, anchor_interval)
    if d > INLINE_PROJECTION_MAX_WIDTH:
        # The very drive the reference forms: the same F.linear, bias included.
        projected = torch.nn.functional.linear(x, weight_ih, bias)
        return _run(projected, "projected", h0, signs, None, None, m, recurrence, *readout)
    # Row j of weight_ih.T is column j of U: the kernel adds it with unit stride.
    return _run(x, "features", h0, signs, weight_ih.t(), bias, m, recurrence, *readout)


def hadamard_recurrence_tokens_native(
    tokens: torch.Tensor,
    h0: torch.Tensor,
    signs: torch.Tensor,
    weight_ih: torch.Tensor,
    bias: torch.Tensor | None,
    block_size: int,
    recurrence: str = "linear",
    *,
    output: str = "states",
    readout_weight: torch.Tensor | None = None,
    readout_bias: torch.Tensor | None = None,
    memory: str = "stored",
    checkpoint_interval: int | None = None,
    targets: torch.Tensor | None = None,
    step_loss: StepLoss | None = None,
) -> torch.Tensor:
    """:func:`hadamard_recurrence_native` with token ids in place of one-hot inputs.

    Equal to ``hadamard_recurrence_native(F.one_hot(tokens, V).to(h0.dtype), ...)`` with
    ``V = weight_ih.shape[1]``: the drive ``U x_t`` is the column ``U[:, tokens[b, t]]``, and the
    gradient of ``U`` adds ``δ_t`` to that column. Vocabularies wider than
    :data:`INLINE_PROJECTION_MAX_WIDTH` go through an embedding lookup first.

    Args:
        tokens: ``(B, T)`` int64 ids in ``[0, V)``.
        h0, signs, weight_ih (``(n, V)``), bias, block_size, recurrence, output, readout_weight,
            readout_bias, memory, checkpoint_interval, targets, step_loss: as in
            :func:`hadamard_recurrence_native`.

    Returns:
        as :func:`hadamard_recurrence_native`.
    """
    n, vocabulary = _check_recurrence(h0, signs, weight_ih, bias, recurrence)
    m = _check_sizes(n, block_size)
    if not isinstance(tokens, torch.Tensor) or tokens.ndim != 2 or tokens.shape[0] != h0.shape[0]:
        shape = tuple(tokens.shape) if isinstance(tokens, torch.Tensor) else type(tokens).__name__
        raise ShapeError(f"tokens must have shape (B={h0.shape[0]}, T), got {shape}")
    _check_cpu(tokens, "tokens")
    if tokens.dtype != torch.int64:
        raise ShapeError(f"tokens must be int64 ids, got dtype {tokens.dtype}")
    if tokens.numel() and not (int(tokens.min()) >= 0 and int(tokens.max()) < vocabulary):
        raise ShapeError(
            f"tokens must lie in [0, {vocabulary}) (weight_ih has {vocabulary} columns), "
            f"got values from {int(tokens.min())} to {int(tokens.max())}"
        )
    count = _check_output(output, readout_weight, readout_bias, n, h0.dtype, targets, step_loss, *tokens.shape)
    interval = _interval_of(tokens, memory, recurrence, output, checkpoint_interval)
    readout = (output, readout_weight, readout_bias, interval, targets, step_loss, count)
    if vocabulary > INLINE_PROJECTION_MAX_WIDTH:
        projected = torch.nn.functional.embedding(tokens, weight_ih.t())
        return _run(projected, "projected", h0, signs, None, bias, m, recurrence, *readout)
    return _run(tokens, "tokens", h0, signs, weight_ih.t(), bias, m, recurrence, *readout)


# ------------------------------------------------------------------------------------------------
# Backend selection for HadamRNN
# ------------------------------------------------------------------------------------------------

_fallback_warned = False


def resolve_backend(requested: str, x: torch.Tensor) -> str:
    """The recurrence backend that ``HadamRNN(backend=requested)`` runs on input ``x``.

    * ``"native"``: ``"native"``, or :class:`HadamRNNError` saying why it cannot run;
    * ``"auto"``: ``"native"`` for float32 CPU inputs when the extension is available, else
      ``"reference"`` (GPU, float64, ...). When only the missing extension stands in the way, a
      warning says so, once per process.
    * anything else is returned unchanged.
    """
    global _fallback_warned
    if requested == "native":
        if not is_available():
            raise HadamRNNError(
                f"backend='native' needs the C extension, which is not available: {unavailable_reason()}; "
                "use backend='auto' to fall back to the reference"
            )
        if x.device.type != "cpu":
            raise HadamRNNError(f"backend='native' runs on CPU tensors only: expected device cpu, got {x.device}")
        if x.dtype not in _SUPPORTED_DTYPES:
            raise HadamRNNError(f"backend='native' expects float32 or float64 inputs, got {x.dtype}")
        return "native"
    if requested != "auto":
        return requested
    if x.device.type != "cpu" or x.dtype != torch.float32:
        return "reference"
    if not is_available():
        if not _fallback_warned:
            _fallback_warned = True
            warnings.warn(
                f"hadamrnn's native kernels are not available ({unavailable_reason()}); "
                "HadamRNN(backend='auto') uses the slower pure-torch reference",
                RuntimeWarning,
                stacklevel=3,
            )
        return "reference"
    return "native"
