"""Base sequences, Turyn-type sequences, and the T-sequences they give.

*Base sequences* BS(n + p, n) are ±1 sequences A, B, C, D of lengths n + p, n + p, n, n that are
complementary: N_A(s) + N_B(s) + N_C(s) + N_D(s) = 0 for every shift s ≥ 1 (notation of
:mod:`theory.sequences`).

*T-sequences* of length t are four sequences T_1, …, T_4 of length t with entries 0, ±1 such that
at every position exactly one of them is non-zero and Σ_k N_{T_k}(s) = 0 for every s ≥ 1. Their
circulant matrices X_k are *T-matrices*: disjoint supports covering every position, and
Σ X_k X_kᵀ = t·I. :mod:`theory.goethals_seidel` turns them into a Hadamard matrix of order 4t and
:mod:`theory.baumert_hall` into a Baumert–Hall array.

Two constructions, each checked exactly whenever it runs:

- **T-sequences from base sequences** (Turyn 1974; Kharaghani and Tayfeh-Rezaie 2005): with
  BS(n + p, n) = (A, B, C, D),
  T_1 = ½(A + B) ; 0_n,  T_2 = ½(A − B) ; 0_n,  T_3 = 0_{n+p} ; ½(C + D),  T_4 = 0_{n+p} ; ½(C − D)
  (";" concatenates) are T-sequences of length 2n + p. At each position exactly one of
  ½(a + b), ½(a − b) is non-zero, and N_{½(A+B)} + N_{½(A−B)} = ½(N_A + N_B).
- **Base sequences from Turyn-type sequences** (Kharaghani and Tayfeh-Rezaie 2005): TT(n) are ±1
  sequences X, Y, Z, W of lengths n, n, n, n − 1 with N_X + N_Y + 2N_Z + 2N_W = 0; then
  (Z ; W, Z ; −W, X, Y) is BS(2n − 1, n), because the cross terms of Z ; W and Z ; −W cancel.
  So TT(n) gives T-sequences of length 3n − 1.

The data are ``theory/data/base_sequences.txt`` (BS(n + 1, n), giving lengths 2n + 1) and
``theory/data/turyn_type.txt`` (TT(n)); each file names its published sources, and every record is
checked when its table is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Sequence

from .errors import ConstructionError, DataTableError
from .sequences import Signs, is_complementary, negated, nonperiodic_autocorrelation, signs_from_text
from .tables import table_lines

BASE_SEQUENCES_TABLE = "base_sequences.txt"
TURYN_TYPE_TABLE = "turyn_type.txt"

Quadruple = tuple[Signs, Signs, Signs, Signs]


@dataclass(frozen=True)
class TSequenceSource:
    """Where the T-sequences of one length come from: a row of one of the two tables."""

    length: int
    table: str
    """``BS`` (base sequences BS(n + 1, n)) or ``TT`` (Turyn-type sequences TT(n))."""
    n: int
    """The parameter n of the row."""

    def __str__(self) -> str:
        if self.table == "BS":
            return f"BS({self.n + 1}, {self.n})"
        return f"TT({self.n})"


@cache
def base_sequences_table() -> dict[int, Quadruple]:
    """n → base sequences BS(n + 1, n) from the table, each checked."""
    table: dict[int, Quadruple] = {}
    for line, fields in table_lines(BASE_SEQUENCES_TABLE):
        where = f"{BASE_SEQUENCES_TABLE}:{line}"
        if len(fields) != 5:
            raise DataTableError(f"{where}: expected n and four sign rows, got {len(fields)} fields")
        n = int(fields[0])
        a, b, c, d = (signs_from_text(text) for text in fields[1:])
        if [len(a), len(b), len(c), len(d)] != [n + 1, n + 1, n, n]:
            raise DataTableError(f"{where}: lengths {[len(a), len(b), len(c), len(d)]}, "
                                 f"expected {[n + 1, n + 1, n, n]}")
        if not is_complementary((a, b, c, d)):
            raise DataTableError(f"{where}: n={n}: the autocorrelations do not add up to zero")
        table[n] = (a, b, c, d)
    return table


@cache
def turyn_type_table() -> dict[int, Quadruple]:
    """n → Turyn-type sequences TT(n) = (X, Y, Z, W) from the table, each checked."""
    table: dict[int, Quadruple] = {}
    for line, fields in table_lines(TURYN_TYPE_TABLE):
        where = f"{TURYN_TYPE_TABLE}:{line}"
        if len(fields) != 2:
            raise DataTableError(f"{where}: expected n and a hexadecimal record")
        n = int(fields[0])
        try:
            x, y, z, w = decode_turyn_type(fields[1])
        except ValueError as error:
            raise DataTableError(f"{where}: {error}") from None
        if len(x) != n:
            raise DataTableError(f"{where}: the record has {len(x)} digits, expected {n}")
        if not is_turyn_type((x, y, z, w)):
            raise DataTableError(f"{where}: n={n}: N_X + N_Y + 2N_Z + 2N_W is not zero")
        table[n] = (x, y, z, w)
    return table


def decode_turyn_type(record: str) -> Quadruple:
    """The sequences X, Y, Z, W written by a hexadecimal record (see the table's header)."""
    if len(record) < 2:
        raise ValueError(f"a record has at least two digits, got {record!r}")
    digits = [int(character, 16) for character in record]
    if digits[-1] > 7:
        raise ValueError(f"the last digit has three bits, got {record[-1]!r}")
    columns = [[1 - 2 * ((digit >> (3 - k)) & 1) for k in range(4)] for digit in digits[:-1]]
    last = [1 - 2 * ((digits[-1] >> (2 - k)) & 1) for k in range(3)]
    x, y, z, w = (tuple(column[k] for column in columns) for k in range(4))
    return x + (last[0],), y + (last[1],), z + (last[2],), w


def is_turyn_type(sequences: Sequence[Sequence[int]]) -> bool:
    """Whether X, Y, Z, W (lengths n, n, n, n − 1, entries ±1) have N_X + N_Y + 2N_Z + 2N_W = 0."""
    x, y, z, w = sequences
    n = len(x)
    if [len(y), len(z), len(w)] != [n, n, n - 1] or not _is_signs((x, y, z, w)):
        return False
    return all(
        nonperiodic_autocorrelation(x, s) + nonperiodic_autocorrelation(y, s)
        + 2 * nonperiodic_autocorrelation(z, s) + 2 * nonperiodic_autocorrelation(w, s) == 0
        for s in range(1, n)
    )


def base_sequences_from_turyn_type(turyn_type: Quadruple) -> Quadruple:
    """BS(2n − 1, n) = (Z ; W, Z ; −W, X, Y) from TT(n) = (X, Y, Z, W)."""
    x, y, z, w = turyn_type
    return z + w, z + negated(w), x, y


def t_sequences_from_base_sequences(base: Quadruple) -> Quadruple:
    """T-sequences of length 2n + p from BS(n + p, n) = (A, B, C, D)."""
    a, b, c, d = base
    head, tail = (0,) * len(a), (0,) * len(c)
    return (
        tuple((x + y) // 2 for x, y in zip(a, b)) + tail,
        tuple((x - y) // 2 for x, y in zip(a, b)) + tail,
        head + tuple((x + y) // 2 for x, y in zip(c, d)),
        head + tuple((x - y) // 2 for x, y in zip(c, d)),
    )


def is_t_sequences(sequences: Sequence[Sequence[int]]) -> bool:
    """Whether four sequences of one length are T-sequences (see the module docstring)."""
    if len(sequences) != 4:
        return False
    t = len(sequences[0])
    if any(len(seq) != t for seq in sequences):
        return False
    for column in zip(*sequences):
        if not set(column) <= {0, 1, -1} or sum(x * x for x in column) != 1:
            return False
    return is_complementary(sequences)


@cache
def t_sequence_sources() -> dict[int, TSequenceSource]:
    """Length t → the table row its T-sequences come from, for every length the tables give.

    Where both tables give a length, the base sequences BS(n + 1, n) are used: they are the
    shorter record. Length 1, the trivial T-sequences ((1), (0), (0), (0)), is left out.
    """
    sources: dict[int, TSequenceSource] = {}
    for n in sorted(turyn_type_table()):
        sources[3 * n - 1] = TSequenceSource(3 * n - 1, "TT", n)
    for n in sorted(base_sequences_table()):
        sources[2 * n + 1] = TSequenceSource(2 * n + 1, "BS", n)
    return dict(sorted(sources.items()))


def t_sequences(t: int) -> Quadruple:
    """T-sequences of length t from the tables, checked before they are returned."""
    source = t_sequence_sources().get(t)
    if source is None:
        raise ConstructionError(
            f"no T-sequences of length t={t} from the tables; they give t = "
            f"{', '.join(map(str, t_sequence_sources()))}"
        )
    if source.table == "BS":
        base = base_sequences_table()[source.n]
    else:
        base = base_sequences_from_turyn_type(turyn_type_table()[source.n])
    sequences = t_sequences_from_base_sequences(base)
    if not is_t_sequences(sequences):
        raise AssertionError(f"bug: {source} did not give T-sequences of length {t}")
    return sequences


def _is_signs(sequences: Sequence[Sequence[int]]) -> bool:
    return all(x in (1, -1) and type(x) is int for seq in sequences for x in seq)
