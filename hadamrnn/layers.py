"""Layers: the p-bit :class:`QuantizedLinear` and the recurrent :class:`HadamRNN`."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import parametrize

from . import native
from .errors import HadamRNNError, ShapeError
from .functional import (
    dense_recurrence_with_last,
    hadamard_recurrence_reference_with_last,
    hadamard_recurrence_reversible_reference,
)
from .losses import StepLoss
from .parametrizations import BinaryHadamard, BlockHadamard
from .quantizers import check_bits, uniform_quantize

__all__ = [
    "QuantizedLinear", "HadamRNN", "token_embedding", "is_tracing", "PADDING_ID", "RECURRENCES", "BACKENDS", "MEMORIES",
]

RECURRENCES = ("linear", "relu")
BACKENDS = ("auto", "reference", "dense", "native")
MEMORIES = ("auto",) + native.MEMORIES


class QuantizedLinear(nn.Module):
    """``y = q_p(W) x + b`` with ``W`` quantized to ``bits`` bits at every call (identity STE).

    ``bits=None`` keeps the weight in float. Weights are Xavier-uniform, the bias uses PyTorch's
    default initialisation, as in the paper's configuration.

    Shapes:
        input ``(..., in_features)`` → output ``(..., out_features)``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bits: int | None = 4,
        bias: bool = True,
        clip: float | None = None,
    ):
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ShapeError(f"{name} must be a positive integer, got {value!r}")
        self.in_features = in_features
        self.out_features = out_features
        self.bits = None if bits is None else check_bits(bits)
        self.clip = clip
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.weight)
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features)
            nn.init.uniform_(self.bias, -bound, bound)

    def quantized_weight(self) -> torch.Tensor:
        """The weight as used in the forward pass (``q_p(W)``, or ``W`` when ``bits`` is None)."""
        if self.bits is None:
            return self.weight
        return uniform_quantize(self.weight, self.bits, self.clip)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.quantized_weight(), self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bits={self.bits}, bias={self.bias is not None}"
        )


def is_tracing() -> bool:
    """Whether the forward is being recorded as a graph rather than run: ``torch.jit.trace``,
    ``torch.onnx.export`` (either exporter), ``torch.export`` or ``torch.compile``.

    The native C kernels are opaque to every one of these (they read raw data pointers), so
    :class:`HadamRNN` takes its pure-torch reference path whenever this is True.
    """
    return bool(torch.jit.is_tracing() or torch.onnx.is_in_onnx_export() or torch.compiler.is_compiling())


#: The token id of padding in every token task: its embedding is zero and stays zero.
PADDING_ID = 0


def token_embedding(
    input_size: int | None, vocab_size: int | None, embedding_dim: int | None, init_std: float | None = None
) -> tuple[nn.Embedding | None, int]:
    """The front end of a head: an embedding of token ids, or none for feature inputs.

    Returns ``(embedding, recurrence input size)``. The embedding of :data:`PADDING_ID` is zero
    and gets no gradient (``nn.Embedding(padding_idx=0)``): sequences are left-padded, and a
    learned padding vector would be added to the state at every padded step, hundreds of times
    for short reviews.

    ``init_std`` scales ``nn.Embedding``'s N(0, 1) draw to N(0, init_std²) instead of drawing
    again, so that the layers built after the embedding start from the same random numbers
    whatever ``init_std`` is.

    Raises:
        ShapeError: ``vocab_size`` without ``embedding_dim``, an ``input_size`` that contradicts
            ``embedding_dim``, or neither ``input_size`` nor ``vocab_size``.
    """
    if vocab_size is None:
        if input_size is None:
            raise ShapeError("input_size is required without vocab_size, got None")
        return None, input_size
    if embedding_dim is None:
        raise ShapeError("embedding_dim is required with vocab_size, got None")
    if input_size not in (None, embedding_dim):
        raise ShapeError(f"with an embedding, input_size must be None or embedding_dim={embedding_dim}, got {input_size}")
    embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PADDING_ID)
    if init_std is not None:
        if not init_std > 0:
            raise HadamRNNError(f"the embedding's init_std must be positive, got {init_std}")
        with torch.no_grad():
            embedding.weight.mul_(init_std)
    return embedding, embedding_dim


class HadamRNN(nn.Module):
    r"""Recurrent layer with a binary (or sparse ternary) orthogonal recurrent matrix.

    ``recurrence="linear"`` (the paper's model):
    :math:`h_t = W h_{t-1} + U x_t + b`; ``recurrence="relu"`` (vanilla ORNN):
    :math:`h_t = \mathrm{ReLU}(W h_{t-1} + U x_t + b)`, with :math:`h_0 = 0` by default,
    :math:`W = \mathrm{diag}(u) H_n/\sqrt{n}` (or :math:`\mathrm{diag}(u)(I_{n/m} \otimes H_m)/\sqrt{m}`
    with ``block_size=m``) and :math:`U` quantized to ``input_bits`` bits. :math:`H_n` is the
    Sylvester matrix :math:`S_n` for :math:`n = 2^k`, and :math:`H_r \otimes S_{2^k}` with a Paley
    base matrix :math:`H_r` for :math:`n = r \cdot 2^k` (e.g. :math:`96 = 12 \cdot 8`).

    Behaves like :class:`torch.nn.RNN` with one layer.

    Args:
        input_size: features of ``x``.
        hidden_size: ``n``, a supported order: ``r · 2^k`` with ``r`` in
            :data:`~hadamrnn.core.orders.BASE_ORDERS` (the powers of two, and ``12 · 2^k``,
            ``20 · 2^k``, ...; :func:`~hadamrnn.hadamard.available_orders` lists them).
        block_size: ``m`` for Block-HadamRNN (a supported order dividing ``n``); None for full HadamRNN.
        recurrence: ``"linear"`` or ``"relu"``.
        input_bits: bit-width ``p`` of ``U``; None keeps ``U`` in float.
        bias: whether to add ``b``.
        batch_first: ``x`` is ``(B, T, input_size)`` if True, else ``(T, B, input_size)``.
        backend: ``"reference"`` applies ``W`` as ``u ⊙ FWHT(h)/√m`` in pure torch, ``"dense"``
            materialises ``W`` once per sequence and multiplies by it (the paper's code path),
            ``"native"`` runs the fused C kernels of :mod:`hadamrnn.native` (CPU; raises where they
            cannot run), ``"auto"`` picks native for float32 CPU inputs when the extension is built
            and the reference otherwise (warning once if the extension is missing). On CUDA,
            ``"auto"`` runs the reference (two small matrix products per step, on the GPU);
            while the model is traced or exported (:func:`is_tracing`) every backend runs the
            reference, the one path a graph can record. :meth:`execution_path` and the module's
            ``repr`` say which path runs.
        sign_clip: optional clip of the straight-through gradient of the signs.
        memory: what the backward of :meth:`last_state`, :meth:`readout` and :meth:`readout_loss`
            keeps of the states (:data:`hadamrnn.native.MEMORIES`). ``"stored"``: every state, ``O(B T n)``.
            ``"reversible"`` (linear recurrence only): only ``h_T``; the backward recomputes the
            states backwards by inverting the orthogonal step, ``O(B n)`` whatever ``T``.
            ``"checkpointed"`` (linear only): also every
            :data:`~hadamrnn.native.CHECKPOINT_INTERVAL`-th state, which bounds the drift of the
            recomputed states, ``O(B n T / k)``. ``"auto"``: ``"checkpointed"`` for the linear
            recurrence on the native backend, ``"stored"`` otherwise (the ReLU step cannot be
            inverted; the reference and dense backends stay the plain autograd loops).
            ``"reversible"`` and ``"checkpointed"`` on the reference backend run the pure-torch
            :func:`~hadamrnn.functional.hadamard_recurrence_reversible_reference`; the dense
            backend always stores. :meth:`forward` returns every state, so it always stores them.

    Exporting: ``torch.jit.trace``, ``torch.onnx.export`` and ``torch.export`` work on the layer
    and on the heads that hold it (the loop over time steps is unrolled, so the traced graph has
    the example's sequence length). ``torch.jit.script`` cannot compile it and says so.
    ``torch.nn.utils.parametrize.remove_parametrizations(layer, "weight_hh")`` leaves a plain
    layer whose ``weight_hh`` is the dense ``W`` it had; it then runs with that matrix (the dense
    path) and has no latent signs to train.

    Shapes:
        ``x``: ``(B, T, input_size)`` (``batch_first``), or ``(T, input_size)`` unbatched.
        ``h0``: ``(1, B, n)``, or ``(1, n)`` unbatched; zeros if None.
        returns ``(outputs, h_n)``: ``(B, T, n)`` and ``(1, B, n)``.

    Example:
        >>> rnn = HadamRNN(input_size=3, hidden_size=8)
        >>> outputs, h_n = rnn(torch.randn(2, 5, 3))
        >>> outputs.shape, h_n.shape
        (torch.Size([2, 5, 8]), torch.Size([1, 2, 8]))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        block_size: int | None = None,
        recurrence: str = "linear",
        input_bits: int | None = 4,
        bias: bool = True,
        batch_first: bool = True,
        backend: str = "auto",
        sign_clip: float | None = None,
        memory: str = "auto",
    ):
        super().__init__()
        # The parametrization checks hidden_size and block_size (with hadamrnn.core), first of all.
        if block_size is None or block_size == hidden_size:
            recurrent: BlockHadamard = BinaryHadamard(hidden_size, clip=sign_clip)
        else:
            recurrent = BlockHadamard(hidden_size, block_size, clip=sign_clip)
        if recurrence not in RECURRENCES:
            raise HadamRNNError(f"recurrence must be one of {RECURRENCES}, got {recurrence!r}")
        if backend not in BACKENDS:
            raise HadamRNNError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if memory not in MEMORIES:
            raise HadamRNNError(f"memory must be one of {MEMORIES}, got {memory!r}")
        if memory in ("reversible", "checkpointed") and recurrence != "linear":
            raise HadamRNNError(
                f"memory={memory!r} needs recurrence='linear', got {recurrence!r}: the ReLU step cannot be "
                "inverted, so its backward keeps the stored states (memory='stored' or 'auto')"
            )
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.block_size = block_size
        self.recurrence = recurrence
        self.batch_first = batch_first
        self.backend = backend
        self.memory = memory
        self.input_proj = QuantizedLinear(input_size, hidden_size, input_bits, bias)
        # Registered on the latent vector ũ itself (the parametrization passes an (n,) tensor
        # through), so no (n, n) matrix is allocated: ``weight_hh`` is computed from the signs when
        # read, and the state_dict key stays ``parametrizations.weight_hh.original``.
        self.weight_hh = nn.Parameter(torch.empty(hidden_size))
        parametrize.register_parametrization(self, "weight_hh", recurrent, unsafe=True)
        self.reset_parameters()

    @property
    def input_bits(self) -> int | None:
        return self.input_proj.bits

    @property
    def is_parametrized(self) -> bool:
        """False once ``remove_parametrizations`` has turned ``weight_hh`` into a plain dense matrix."""
        return parametrize.is_parametrized(self, "weight_hh")

    def _require_parametrization(self, what: str) -> None:
        if not self.is_parametrized:
            # Raised as HadamRNNError, not AttributeError: inside a property an AttributeError
            # would be swallowed by nn.Module.__getattr__ and reported as a missing attribute.
            raise HadamRNNError(
                f"{what} needs the Hadamard parametrization of weight_hh, which was removed "
                "(torch.nn.utils.parametrize.remove_parametrizations): the layer now holds a dense W "
                "and runs it as is, without latent signs"
            )

    @property
    def recurrent(self) -> BlockHadamard:
        """The parametrization of ``weight_hh`` (holds the block size and scale; builds the pattern on demand)."""
        self._require_parametrization("HadamRNN.recurrent")
        return self.parametrizations.weight_hh[0]

    @property
    def latent_signs(self) -> nn.Parameter:
        """The learned latent vector ``ũ`` (shape ``(n,)``); the signs are ``ste_sign(ũ)``."""
        self._require_parametrization("HadamRNN.latent_signs")
        return self.parametrizations.weight_hh.original

    def signs(self) -> torch.Tensor:
        """The current ±1 sign vector ``u`` (differentiable through the STE)."""
        return self.recurrent.signs(self.latent_signs)

    def reset_parameters(self) -> None:
        """``U`` and ``ũ`` Xavier-uniform; ``b`` uniform in ``±1/√n``, as :class:`torch.nn.RNN`.

        The bias is added at every step and accumulates through the orthogonal ``W``: with
        ``nn.Linear``'s ``±1/√d_in`` it would be ``±1`` for pixel-by-pixel MNIST (``d_in = 1``),
        and ``h_T`` would start hundreds of times larger than the read-out can use.
        """
        self.input_proj.reset_parameters()
        self._require_parametrization("HadamRNN.reset_parameters")
        self.reset_signs()
        with torch.no_grad():
            if self.input_proj.bias is not None:
                bound = 1.0 / math.sqrt(self.hidden_size)
                nn.init.uniform_(self.input_proj.bias, -bound, bound)

    def reset_signs(self, generator: torch.Generator | None = None) -> None:
        """Draw ``ũ`` again, Xavier-uniform, from ``generator`` (None: torch's global generator).

        With a generator of its own, the signs of ``W`` can change while every other weight and
        the order of the batches stay those of the training seed (``model.sign_seed``).
        """
        self._require_parametrization("HadamRNN.reset_signs")
        with torch.no_grad():
            nn.init.xavier_uniform_(self.latent_signs.view(1, -1), generator=generator)

    def _check_input(self, x: torch.Tensor, h0: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, bool]:
        if not isinstance(x, torch.Tensor):
            raise ShapeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise ShapeError(
                f"x must be a floating-point tensor of features, got dtype {x.dtype} "
                "(token ids go through an embedding first, e.g. SequenceClassifier(vocab_size=...))"
            )
        weight_dtype = self.input_proj.weight.dtype
        if x.dtype != weight_dtype:
            # One message for every backend (torch's own differs per backend, or is a kernel error).
            raise ShapeError(
                f"x must have the dtype of the layer's weights ({weight_dtype}), got {x.dtype}; convert the "
                f"inputs (x.to({weight_dtype})) or the model (model.to({x.dtype}))"
            )
        if x.ndim not in (2, 3):
            layout = "(B, T, input_size)" if self.batch_first else "(T, B, input_size)"
            raise ShapeError(
                f"x must have shape {layout} or (T, input_size), got a {x.ndim}-d tensor of shape {tuple(x.shape)}"
            )
        if x.shape[-1] != self.input_size:
            raise ShapeError(f"x must have input_size={self.input_size} features in its last dimension, got {x.shape[-1]}")
        batched = x.ndim == 3
        if not batched:
            x = x.unsqueeze(0)
        elif not self.batch_first:
            x = x.transpose(0, 1)
        batch = x.shape[0]
        if h0 is None:
            h = x.new_zeros(batch, self.hidden_size)
        else:
            expected = (1, batch, self.hidden_size) if batched else (1, self.hidden_size)
            if tuple(h0.shape) != expected:
                raise ShapeError(f"h0 must have shape {expected}, got {tuple(h0.shape)}")
            if h0.dtype != x.dtype:
                raise ShapeError(f"h0 must have the dtype of x ({x.dtype}), got {h0.dtype}")
            h = h0.reshape(batch, self.hidden_size)
        return x, h, batched

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        x, h, batched = self._check_input(x, h0)
        with parametrize.cached():
            # h_n is an output of its own, not outputs[:, -1]: a loss on h_n alone then sends the
            # backward a (B, n) gradient instead of a (B, T, n) tensor of zeros around it.
            outputs, h_n = self._run(x, h, output="states_and_last")
        if not batched:
            return outputs[0], h_n
        if not self.batch_first:
            outputs = outputs.transpose(0, 1)
        return outputs, h_n.unsqueeze(0)

    def last_state(self, x: torch.Tensor, h0: torch.Tensor | None = None) -> torch.Tensor:
        """Only ``h_T``, for many-to-one heads: ``forward(x, h0)[1][0]`` without ``(B, T, n)`` gradients.

        On the native backend the states stay inside the kernel, and the backward receives the
        ``(B, n)`` gradient of ``h_T`` alone instead of a ``(B, T, n)`` tensor of zeros around it.

        Shapes:
            ``x``, ``h0``: as in :meth:`forward`. Returns ``(B, n)``, or ``(n,)`` unbatched.
        """
        x, h, batched = self._check_input(x, h0)
        with parametrize.cached():
            h_n = self._run(x, h, output="last")
        return h_n if batched else h_n[0]

    def readout(
        self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, h0: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``o_t = weight · ReLU(h_t) + bias`` at every step, for many-to-many heads.

        Equals ``F.linear(torch.relu(forward(x, h0)[0]), weight, bias)``. On the native backend the
        read-out is fused into the recurrence kernel, so neither ``ReLU(h)`` nor its gradient is
        ever a ``(B, T, n)`` tensor.

        Shapes:
            ``x``, ``h0``: as in :meth:`forward`; ``weight``: ``(k, n)``; ``bias``: ``(k,)``.
            Returns ``(B, T, k)`` (``(T, B, k)`` unless ``batch_first``), or ``(T, k)`` unbatched.
        """
        x, h, batched = self._check_input(x, h0)
        self._check_readout_weight(weight)
        with parametrize.cached():
            logits = self._run(x, h, output="logits", readout_weight=weight, readout_bias=bias)
        if not batched:
            return logits[0]
        return logits if self.batch_first else logits.transpose(0, 1)

    def readout_loss(
        self,
        x: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        targets: torch.Tensor,
        step_loss: StepLoss,
        h0: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``step_loss(readout(x, weight, bias, h0), targets)``, the loss of the read-out at every step.

        On the native backend the loss is fused into the recurrence kernel: each step's ``k``
        logits are formed, scored and differentiated while they are in registers, so the
        ``(B, T, k)`` logits and their gradient never exist as tensors; the kernel keeps the
        steps' loss gradients for the backward only where they take no more memory than the
        batch's inputs and targets (see :func:`hadamrnn.native.hadamard_recurrence_native`,
        ``output="loss"``). Elsewhere it is that expression itself.

        Shapes:
            ``x``, ``h0``: as in :meth:`forward`; ``weight``: ``(k, n)``; ``bias``: ``(k,)``;
            ``targets``: the layout of the logits without (cross-entropy ids, int64) or with
            (binary cross-entropy) their last dimension: ``(B, T)`` or ``(B, T, k)``
            (``(T, B...)`` unless ``batch_first``; ``(T...)`` unbatched). Returns a 0-d tensor.
        """
        if not isinstance(step_loss, StepLoss):
            raise HadamRNNError(f"step_loss must be a hadamrnn.losses.StepLoss, got {type(step_loss).__name__}")
        x, h, batched = self._check_input(x, h0)
        self._check_readout_weight(weight)
        if isinstance(targets, torch.Tensor):
            if not batched:
                targets = targets.unsqueeze(0)
            elif not self.batch_first:
                targets = targets.transpose(0, 1)
        step_loss.check_targets(targets, x.shape[0], x.shape[1], weight.shape[0], x.dtype)
        with parametrize.cached():
            return self._run(x, h, output="loss", readout_weight=weight, readout_bias=bias, targets=targets,
                             step_loss=step_loss)

    def _check_readout_weight(self, weight) -> None:
        if not isinstance(weight, torch.Tensor) or weight.ndim != 2 or weight.shape[1] != self.hidden_size:
            shape = tuple(weight.shape) if isinstance(weight, torch.Tensor) else type(weight).__name__
            raise ShapeError(f"the read-out weight must have shape (k, n={self.hidden_size}), got {shape}")

    def _run(
        self,
        x: torch.Tensor,
        h: torch.Tensor,
        output: str = "states",
        readout_weight: torch.Tensor | None = None,
        readout_bias: torch.Tensor | None = None,
        targets: torch.Tensor | None = None,
        step_loss: StepLoss | None = None,
    ) -> torch.Tensor:
        """The recurrence on batch-first ``x`` ``(B, T, d)`` from ``h`` ``(B, n)``.

        Returns, by ``output``: ``(B, T, n)`` every state, ``(B, n)`` the last one, ``(B, T, k)``
        the read-out, the pair (every state, the last one), or the read-out's loss against
        ``targets`` (see :func:`hadamrnn.native.hadamard_recurrence_native`).
        """
        weight_ih = self.input_proj.quantized_weight()
        bias = self.input_proj.bias
        backend = self._path_for(x)
        memory = self._memory_for(backend, output)
        if backend == "native":
            interval = native.checkpoint_interval_for(memory, x.shape[1], self.recurrence, output)
            # forward returns every state; under "auto" a loss on h_n alone still gets the backward
            # of the default memory, re-anchored on the stored states (see _recurrence_for_layer).
            anchor = 0
            if output == "states_and_last" and self.memory == "auto" and self.recurrence == "linear":
                anchor = native.CHECKPOINT_INTERVAL
            return native._recurrence_for_layer(
                x, h, self.signs(), weight_ih, bias, self.recurrent.block_size, self.recurrence,
                output=output, readout_weight=readout_weight, readout_bias=readout_bias, checkpoint_interval=interval,
                targets=targets, step_loss=step_loss, anchor_interval=anchor,
            )
        if output == "loss":  # the reference: the logits of this backend, then the loss in torch
            return step_loss(self._run(x, h, "logits", readout_weight, readout_bias), targets)
        if backend == "reference" and memory != "stored":
            return hadamard_recurrence_reversible_reference(
                x, h, self.signs(), weight_ih, bias, self.recurrent.block_size, output=output,
                readout_weight=readout_weight, readout_bias=readout_bias,
                checkpoint_interval=native.CHECKPOINT_INTERVAL if memory == "checkpointed" else None,
            )
        if backend == "dense":
            states, last = dense_recurrence_with_last(x, h, self.weight_hh, weight_ih, bias, self.recurrence)
        else:
            states, last = hadamard_recurrence_reference_with_last(
                x, h, self.signs(), weight_ih, bias, self.recurrent.block_size, self.recurrence
            )
        if output == "last":
            return last
        if output == "states_and_last":
            return states, last
        if output == "logits":
            return nn.functional.linear(torch.relu(states), readout_weight, readout_bias)
        return states

    def _path_for(self, x: torch.Tensor) -> str:
        if not self.is_parametrized:
            return "dense"
        if is_tracing():
            return "reference"
        return native.resolve_backend(self.backend, x)

    def execution_path(self, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> str:
        """The path a forward on ``dtype`` inputs on ``device`` (default: the layer's) takes:
        ``"native"`` (the fused C kernels), ``"reference"`` (pure torch, matrix-free) or ``"dense"``.

        Raises :class:`HadamRNNError` when ``backend="native"`` cannot run there (say, on CUDA).
        """
        device = self.input_proj.weight.device if device is None else torch.device(device)
        return self._path_for(torch.empty(0, device=device, dtype=dtype))

    def __prepare_scriptable__(self):
        # torch.jit.script calls this on every module before compiling it: fail here with the
        # alternatives, instead of deep inside the compiler on some f-string.
        raise HadamRNNError(
            "torch.jit.script cannot compile HadamRNN (its forward picks a backend and checks shapes in "
            "Python); use torch.onnx.export(model, (example_inputs,), path), torch.export.export(model, "
            "(example_inputs,)) or torch.jit.trace(model, example_inputs), which record the pure-torch "
            "reference path"
        )

    def _memory_for(self, backend: str, output: str) -> str:
        """The memory mode of one call: every state is kept where they are returned (``forward``),
        by the dense backend, and by ``"auto"`` off the native backend or with the ReLU step."""
        if output not in ("last", "logits", "loss") or backend == "dense":
            return "stored"
        if self.memory == "auto":
            return "checkpointed" if backend == "native" and self.recurrence == "linear" else "stored"
        return self.memory

    def extra_repr(self) -> str:
        try:
            path = self.execution_path()
        except HadamRNNError as error:  # backend="native" where it cannot run: say so, do not fail repr
            path = f"unavailable here ({error})"
        return (
            f"input_size={self.input_size}, hidden_size={self.hidden_size}, block_size={self.block_size}, "
            f"recurrence={self.recurrence!r}, input_bits={self.input_bits}, backend={self.backend!r}, path={path}"
        )
