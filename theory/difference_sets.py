"""Supplementary difference sets (Đoković's families) and their Goethals–Seidel Hadamard matrices.

Subsets S_1, …, S_4 of the cyclic group Z_v, of sizes k_1, …, k_4, are *supplementary difference
sets* 4-{v; k_1, k_2, k_3, k_4; λ} if every non-zero s ∈ Z_v is a difference x − y with x, y in
one S_i in exactly λ ways in all. If moreover k_1 + k_2 + k_3 + k_4 = v + λ, the ±1 sequences
a_i (a_i[j] = −1 iff j ∈ S_i) are periodically complementary, so their circulants A_1, …, A_4
satisfy Σ A_i A_iᵀ = 4v·I and the Goethals–Seidel array (:mod:`theory.goethals_seidel`) is a
Hadamard matrix of order 4v.

Proof of the complementarity: a_i[j]·a_i[j+s] = −1 iff exactly one of j, j + s lies in S_i, which
happens for 2(k_i − λ_i(s)) values of j, where λ_i(s) counts the pairs of S_i with difference s.
So P_{a_i}(s) = v − 4(k_i − λ_i(s)), and Σ_i P_{a_i}(s) = 4v − 4(v + λ) + 4λ = 0.

The families are data, ``theory/data/supplementary_difference_sets.txt``, in Đoković's compact
form (orbits of a multiplicative subgroup H of Z_v and their negatives); the file names the
published source of each. Every family is expanded and its difference counts are checked exactly
when the table is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from .errors import ConstructionError, DataTableError
from .goethals_seidel import goethals_seidel_hadamard
from .matrices import Matrix
from .tables import table_blocks

SDS_TABLE = "supplementary_difference_sets.txt"


@dataclass(frozen=True)
class DifferenceFamily:
    """Four subsets of Z_v forming supplementary difference sets with k_1 + … + k_4 = v + λ."""

    v: int
    sets: tuple[frozenset[int], frozenset[int], frozenset[int], frozenset[int]]
    source: str

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(len(s) for s in self.sets)

    @property
    def lam(self) -> int:
        """λ = k_1 + k_2 + k_3 + k_4 − v."""
        return sum(self.sizes) - self.v


@cache
def difference_family_table() -> dict[int, DifferenceFamily]:
    """v → the supplementary difference sets in Z_v of the table, each expanded and checked."""
    table: dict[int, DifferenceFamily] = {}
    for line, record in table_blocks(SDS_TABLE):
        where = f"{SDS_TABLE}:{line}"
        try:
            family = _expand(record)
        except (KeyError, ValueError) as error:
            raise DataTableError(f"{where}: malformed record ({error})") from None
        problem = difference_family_defect(family.v, family.sets)
        if problem:
            raise DataTableError(f"{where}: v={family.v}: {problem}")
        table[family.v] = family
    return table


def _expand(record: dict[str, list[str]]) -> DifferenceFamily:
    (v_text,) = record["v"]
    v = int(v_text)
    subgroup = {int(x) % v for x in record["subgroup"]}
    orbits: list[frozenset[int]] = []
    for token in record["cosets"]:
        if token.startswith("{"):
            orbit = frozenset(int(x) % v for x in token.strip("{}").split(","))
        else:
            orbit = frozenset(int(token) * h % v for h in subgroup)
        orbits += [orbit, frozenset(-x % v for x in orbit)]
    sets = tuple(
        frozenset().union(*(orbits[int(index)] for index in record[name]))
        for name in ("S1", "S2", "S3", "S4")
    )
    return DifferenceFamily(v, sets, " ".join(record.get("source", [])))  # type: ignore[arg-type]


def difference_family_defect(v: int, sets: tuple[frozenset[int], ...]) -> str | None:
    """Why ``sets`` are not 4-{v; k_1, …, k_4; λ} supplementary difference sets with
    Σ k_i = v + λ, or None. The differences are counted exactly."""
    if len(sets) != 4 or any(not s <= set(range(v)) for s in sets):
        return "expected four subsets of Z_v"
    lam = sum(map(len, sets)) - v
    counts = [0] * v
    for s in sets:
        members = sorted(s)
        for x in members:
            for y in members:
                counts[(x - y) % v] += 1
    wrong = [d for d in range(1, v) if counts[d] != lam]
    if wrong:
        return f"the difference {wrong[0]} occurs {counts[wrong[0]]} times, not λ = {lam}"
    return None


def difference_family_orders() -> list[int]:
    """The group orders v of the table, increasing."""
    return sorted(difference_family_table())


def sign_rows(family: DifferenceFamily) -> tuple[tuple[int, ...], ...]:
    """The ±1 sequences a_i with a_i[j] = −1 iff j ∈ S_i."""
    return tuple(tuple(-1 if j in s else 1 for j in range(family.v)) for s in family.sets)


def difference_set_hadamard(v: int) -> Matrix:
    """The Hadamard matrix of order 4v: the Goethals–Seidel array of the table's family in Z_v."""
    table = difference_family_table()
    if v not in table:
        raise ConstructionError(
            f"no supplementary difference sets in Z_{v} in {SDS_TABLE}; "
            f"it has v = {', '.join(map(str, sorted(table)))}"
        )
    return goethals_seidel_hadamard(sign_rows(table[v]))
