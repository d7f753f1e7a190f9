"""Model size, per component, with the formula written out.

For a model with hidden size ``n``, block size ``m`` (``m = n`` for full HadamRNN), input size
``d``, output size ``k`` and bit-widths ``p_U``, ``p_V``:

* ``W``: ``n`` bits (the sign vector; the Sylvester pattern is regenerated), or ``n·m`` bits when
  stored as a dense binary/ternary pattern (``n²`` for full HadamRNN);
* ``U``: ``p_U · n · d`` bits, plus one 32-bit scale; ``V``: ``p_V · k · n`` bits, plus one scale
  (a float weight counts 32 bits per entry and has no scale);
* biases: 32 bits per entry;
* embeddings: 32 bits per entry, reported separately and excluded from the recurrent-model total;
* any other parameter: 32 bits per entry.

Baselines (:mod:`hadamrnn.baselines`) count their recurrent matrix as it is stored:

* ORNN: ``W`` is ``32 · n²`` bits (a float orthogonal matrix);
* QORNN with p-bit ``W``: ``p · n²`` bits plus one 32-bit scale;
* LSTM / GRU with ``G = 4`` / ``G = 3`` gates: ``32 · G·n·n`` bits of recurrent weights,
  ``32 · G·n·d`` bits of input weights and ``32 · 2·G·n`` bits of biases (PyTorch keeps two bias
  vectors per gate).

``U`` and ``V`` of ORNN and QORNN follow the rules above; ``V`` of every baseline too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from .baselines import GatedRNN, OrthogonalRNN
from .kinds import model_kind
from .layers import HadamRNN, QuantizedLinear

__all__ = ["ModelSize", "SizeRow", "model_size", "planned_size"]

FLOAT_BITS = 32


@dataclass(frozen=True)
class SizeRow:
    component: str
    entries: int
    bits_per_entry: float
    bits: int
    note: str = ""

    @property
    def bytes(self) -> float:
        return self.bits / 8


@dataclass(frozen=True)
class ModelSize:
    """Per-component size table. ``total_bits`` counts the compact form of ``W`` (its signs)."""

    rows: tuple[SizeRow, ...]
    embedding_rows: tuple[SizeRow, ...] = field(default=())
    dense_recurrent_bits: int = 0

    @property
    def total_bits(self) -> int:
        return sum(row.bits for row in self.rows)

    @property
    def total_bytes(self) -> float:
        return self.total_bits / 8

    @property
    def total_bits_dense_w(self) -> int:
        """Total with ``W`` stored as its dense pattern instead of its ``n`` signs."""
        signs = sum(row.bits for row in self.rows if row.component.endswith("W (signs)"))
        return self.total_bits - signs + self.dense_recurrent_bits

    @property
    def embedding_bits(self) -> int:
        return sum(row.bits for row in self.embedding_rows)

    def as_dict(self) -> dict:
        return {
            "rows": [{**row.__dict__, "bytes": row.bytes} for row in self.rows],
            "embeddings": [{**row.__dict__, "bytes": row.bytes} for row in self.embedding_rows],
            "total_bits": self.total_bits,
            "total_bytes": self.total_bytes,
            "total_bits_dense_w": self.total_bits_dense_w,
            "embedding_bits": self.embedding_bits,
        }

    def __str__(self) -> str:
        lines = [f"{'component':<28}{'entries':>10}{'bits/entry':>12}{'bits':>12}{'bytes':>12}  note"]
        for row in (*self.rows, *self.embedding_rows):
            lines.append(
                f"{row.component:<28}{row.entries:>10}{row.bits_per_entry:>12g}{row.bits:>12}{row.bytes:>12g}  {row.note}"
            )
        if self.dense_recurrent_bits:
            lines.append(f"{'total (W as signs)':<62}{self.total_bits:>12}{self.total_bytes:>12g}")
            lines.append(f"{'total (W as dense pattern)':<62}{self.total_bits_dense_w:>12}{self.total_bits_dense_w / 8:>12g}")
        else:  # a baseline: W is stored as it is counted, there is no sign-vector form
            lines.append(f"{'total':<62}{self.total_bits:>12}{self.total_bytes:>12g}")
        if self.embedding_rows:
            lines.append(f"{'embeddings (separate)':<62}{self.embedding_bits:>12}{self.embedding_bits / 8:>12g}")
        return "\n".join(lines)


def _linear_rows(prefix: str, layer: QuantizedLinear) -> list[SizeRow]:
    return _quantized_linear_rows(prefix, layer.weight.numel(), layer.bits, None if layer.bias is None else layer.bias.numel())


def _quantized_linear_rows(prefix: str, entries: int, bits: int | None, bias_entries: int | None) -> list[SizeRow]:
    if bits is None:
        rows = [SizeRow(f"{prefix} weight", entries, FLOAT_BITS, FLOAT_BITS * entries, "float")]
    else:
        rows = [
            SizeRow(f"{prefix} weight", entries, bits, bits * entries, f"{bits}-bit"),
            SizeRow(f"{prefix} scale", 1, FLOAT_BITS, FLOAT_BITS, "alpha / 2^(p-1)"),
        ]
    if bias_entries is not None:
        rows.append(SizeRow(f"{prefix} bias", bias_entries, FLOAT_BITS, FLOAT_BITS * bias_entries, "float"))
    return rows


def _signs_row(prefix: str, n: int, m: int) -> SizeRow:
    kind = "binary" if m == n else f"ternary, block {m}"
    return SizeRow(f"{prefix}.W (signs)", n, 1, n, f"{kind}; dense pattern n*m = {n * m} bits")


def _orthogonal_rnn_rows(prefix: str, n: int, p: int | None) -> list[SizeRow]:
    entries = n**2
    if p is None:
        return [SizeRow(f"{prefix}.W (orthogonal)", entries, FLOAT_BITS, FLOAT_BITS * entries, "float")]
    return [
        SizeRow(f"{prefix}.W", entries, p, p * entries, f"{p}-bit, approximately orthogonal"),
        SizeRow(f"{prefix}.W scale", 1, FLOAT_BITS, FLOAT_BITS, "alpha / 2^(p-1)"),
    ]


def _gated_rnn_rows(prefix: str, cell: str, n: int, d: int) -> list[SizeRow]:
    gates = {"lstm": 4, "gru": 3}[cell]
    rows = []
    for component, entries in (("W (gates)", gates * n * n), ("U (gates)", gates * n * d), ("biases", 2 * gates * n)):
        rows.append(SizeRow(f"{prefix}.{component}", entries, FLOAT_BITS, FLOAT_BITS * entries, f"float, {gates} gates"))
    return rows


def planned_size(
    kind: str,
    *,
    hidden_size: int,
    input_size: int,
    output_size: int,
    block_size: int | None = None,
    input_bits: int | None = None,
    output_bits: int | None = None,
    recurrent_bits: int | None = None,
    vocab_size: int | None = None,
) -> ModelSize:
    """The size table of a head (:mod:`hadamrnn.models`, :mod:`hadamrnn.baselines`) from its
    dimensions alone, without building it: no tensor is created, so any ``hidden_size`` takes
    microseconds. :func:`model_size` of the built head gives the same table.

    ``input_size`` is the recurrence's input (the embedding width with ``vocab_size``); ``kind``
    is a name of :mod:`hadamrnn.kinds`.
    """
    cell = model_kind(kind).cell
    n, d = hidden_size, input_size
    rows: list[SizeRow] = []
    embedding_rows: list[SizeRow] = []
    dense_bits = 0
    if vocab_size is not None:
        entries = vocab_size * d
        embedding_rows.append(SizeRow("embedding (embedding)", entries, FLOAT_BITS, FLOAT_BITS * entries, "float"))
    if cell == "hadamard":
        m = block_size or n
        rows.append(_signs_row("rnn", n, m))
        dense_bits = n * m
        rows += _quantized_linear_rows("rnn.U", n * d, input_bits, n)
    elif cell == "orthogonal":
        rows += _orthogonal_rnn_rows("rnn", n, recurrent_bits)
        rows += _quantized_linear_rows("rnn.U", n * d, input_bits, n)
    else:
        rows += _gated_rnn_rows("rnn", kind, n, d)
    rows += _quantized_linear_rows("readout", output_size * n, output_bits, output_size)
    return ModelSize(tuple(rows), tuple(embedding_rows), dense_bits)


def model_size(model: nn.Module) -> ModelSize:
    """The size of ``model`` in bits and bytes, per component (see the module docstring).

    Example:
        >>> from hadamrnn import SequenceTagger
        >>> size = model_size(SequenceTagger(10, 128, 9))
        >>> size.total_bits == 128 + 4 * 128 * 10 + 32 + 32 * 128 + 4 * 9 * 128 + 32 + 32 * 9
        True
    """
    rows: list[SizeRow] = []
    embedding_rows: list[SizeRow] = []
    dense_bits = 0
    counted: set[int] = set()
    for name, module in model.named_modules():
        prefix = name or type(model).__name__
        if isinstance(module, HadamRNN):
            n, m = module.hidden_size, module.recurrent.block_size
            rows.append(_signs_row(prefix, n, m))
            dense_bits += n * m
            counted.add(id(module.latent_signs))
        elif isinstance(module, OrthogonalRNN):
            rows.extend(_orthogonal_rnn_rows(prefix, module.hidden_size, module.recurrent_bits))
            counted.update(id(p) for p in module.parametrizations.weight_hh.parameters())
        elif isinstance(module, GatedRNN):
            rows.extend(_gated_rnn_rows(prefix, module.cell, module.hidden_size, module.input_size))
            counted.update(id(p) for p in module.layer.parameters())
        elif isinstance(module, QuantizedLinear):
            if name.endswith("input_proj"):
                prefix = name[: -len("input_proj")] + "U"
            rows.extend(_linear_rows(prefix, module))
            counted.update(id(p) for p in module.parameters(recurse=False))
        elif isinstance(module, nn.Embedding):
            entries = module.weight.numel()
            embedding_rows.append(SizeRow(f"{prefix} (embedding)", entries, FLOAT_BITS, FLOAT_BITS * entries, "float"))
            counted.add(id(module.weight))
    for name, parameter in model.named_parameters():
        if id(parameter) not in counted:
            rows.append(SizeRow(name, parameter.numel(), FLOAT_BITS, FLOAT_BITS * parameter.numel(), "float"))
    return ModelSize(tuple(rows), tuple(embedding_rows), dense_bits)
