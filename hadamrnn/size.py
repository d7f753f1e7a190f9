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
from .layers import HadamRNN, QuantizedLinear

__all__ = ["ModelSize", "SizeRow", "model_size"]

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
    entries = layer.weight.numel()
    if layer.bits is None:
        rows = [SizeRow(f"{prefix} weight", entries, FLOAT_BITS, FLOAT_BITS * entries, "float")]
    else:
        rows = [
            SizeRow(f"{prefix} weight", entries, layer.bits, layer.bits * entries, f"{layer.bits}-bit"),
            SizeRow(f"{prefix} scale", 1, FLOAT_BITS, FLOAT_BITS, "alpha / 2^(p-1)"),
        ]
    if layer.bias is not None:
        rows.append(SizeRow(f"{prefix} bias", layer.bias.numel(), FLOAT_BITS, FLOAT_BITS * layer.bias.numel(), "float"))
    return rows


def _orthogonal_rnn_rows(prefix: str, module: OrthogonalRNN) -> list[SizeRow]:
    entries = module.hidden_size**2
    p = module.recurrent_bits
    if p is None:
        return [SizeRow(f"{prefix}.W (orthogonal)", entries, FLOAT_BITS, FLOAT_BITS * entries, "float")]
    return [
        SizeRow(f"{prefix}.W", entries, p, p * entries, f"{p}-bit, approximately orthogonal"),
        SizeRow(f"{prefix}.W scale", 1, FLOAT_BITS, FLOAT_BITS, "alpha / 2^(p-1)"),
    ]


def _gated_rnn_rows(prefix: str, module: GatedRNN) -> list[SizeRow]:
    gates = {"lstm": 4, "gru": 3}[module.cell]
    n, d = module.hidden_size, module.input_size
    rows = []
    for component, entries in (("W (gates)", gates * n * n), ("U (gates)", gates * n * d), ("biases", 2 * gates * n)):
        rows.append(SizeRow(f"{prefix}.{component}", entries, FLOAT_BITS, FLOAT_BITS * entries, f"float, {gates} gates"))
    return rows


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
            kind = "binary" if m == n else f"ternary, block {m}"
            rows.append(SizeRow(f"{prefix}.W (signs)", n, 1, n, f"{kind}; dense pattern n*m = {n * m} bits"))
            dense_bits += n * m
            counted.add(id(module.latent_signs))
        elif isinstance(module, OrthogonalRNN):
            rows.extend(_orthogonal_rnn_rows(prefix, module))
            counted.update(id(p) for p in module.parametrizations.weight_hh.parameters())
        elif isinstance(module, GatedRNN):
            rows.extend(_gated_rnn_rows(prefix, module))
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
