"""Symbolic proofs with sympy, for every size in range.

sympy is imported inside the functions, so ``import theory`` works without it.

Sign vectors are symbols u_1 … u_n under the single hypothesis u_i² = 1. Products are expanded and
then reduced in the quotient ring ℤ[u]/(u_i² − 1), whose normal form has every exponent reduced
mod 2 (u^e ↦ u^{e mod 2}; this also handles u³ and u^{−1}). The reduced difference with the
expected matrix must be the zero matrix, and sympy must say so with ``is_zero_matrix is True``
(it may answer None when it cannot decide, which counts as failure).

Matrices are kept as √n·W, whose entries are ±u_i or 0, so the scale enters only as
(1/√n)² = 1/n: √n·W is orthogonal up to n, i.e. (√n W)(√n W)ᵀ = n I.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Sequence

from .errors import require
from .fwht import fwht
from .kronecker import kronecker
from .sylvester import block_sylvester, powers_of_two


def sign_symbols(n: int, name: str = "u") -> tuple[Any, ...]:
    """The symbols name_1 … name_n."""
    import sympy

    return tuple(sympy.symbols(f"{name}1:{n + 1}"))


def reduce_sign_powers(matrix: Any, signs: Sequence[Any]) -> Any:
    """The normal form of an expanded sympy matrix modulo u_i² = 1: u^e becomes u^{e mod 2}.

    The powers are looked for in each entry's terms and their factors, which is where an expanded
    polynomial keeps them. A power hidden deeper (in an unexpanded entry) would stay unreduced,
    and the comparison that follows would then fail: the reduction can miss, never mislead.
    """
    import sympy

    sign_set = set(signs)
    reduced = {}
    for entry in matrix:
        for term in sympy.Add.make_args(entry):
            for factor in sympy.Mul.make_args(term):
                if factor.is_Pow and factor.base in sign_set and factor.exp.is_Integer:
                    reduced[factor] = factor.base ** (factor.exp % 2)
    return matrix.xreplace(reduced)


def column_gram(rows: Sequence[Sequence[Any]]) -> Any:
    """Mᵀ M of a sympy-valued square matrix M, as a sympy matrix.

    Entry (i, j) is the sum over the common support of columns i and j; only products with a
    zero factor are left out, so the block-diagonal case costs only its blocks. Mᵀ M is symmetric
    because multiplication commutes, so entries below the diagonal are copied, not recomputed.
    """
    import sympy

    n = len(rows)
    columns = [{i: rows[i][j] for i in range(n) if rows[i][j] != 0} for j in range(n)]
    products: dict[tuple[Any, Any], Any] = {}

    def times(x: Any, y: Any) -> Any:
        # The same few products ±u_k·±u_k recur thousands of times; a dict is much cheaper than
        # sympy's own cache around Mul.
        key = (x, y)
        if key not in products:
            products[key] = x * y
        return products[key]

    entries: list[list[Any]] = [[sympy.S.Zero] * n for _ in range(n)]
    for i, a in enumerate(columns):
        for j in range(i, n):
            b = columns[j]
            terms = [times(a[k], b[k]) for k in a.keys() & b.keys()]
            entries[i][j] = entries[j][i] = sympy.Add(*terms)
    return sympy.Matrix(entries)


@cache
def signed_block_is_orthogonal(n: int, block_size: int) -> bool:
    """Whether M = diag(u)·(I_{n/m} ⊗ S_m) with symbols u satisfies Mᵀ M = m I modulo u_i² = 1.

    That is Wᵀ W = I for W = M/√m. A square matrix with a left inverse has it as its right
    inverse too, so W Wᵀ = I follows. Cached because ``hadamrnn.orthogonal`` (m = n) and
    ``block_hadamrnn.orthogonal`` (every m) share the case m = n.
    """
    import sympy

    u = sign_symbols(n)
    rows = [[ui * x for x in row] for ui, row in zip(u, block_sylvester(n, block_size))]
    difference = reduce_sign_powers(column_gram(rows), u) - block_size * sympy.eye(n)
    return difference.is_zero_matrix is True


def check_hadamrnn_orthogonal(limit: int) -> str:
    """Claim: ``hadamrnn.orthogonal``.

    W(u) = diag(u)·S_n/√n satisfies Wᵀ W = I (hence W Wᵀ = I) for symbols u_i with u_i² = 1, for
    every n = 2^k ≤ limit.
    """
    sizes = powers_of_two(limit)
    for n in sizes:
        require(signed_block_is_orthogonal(n, n), f"Wᵀ W ≠ I modulo u_i² = 1 at n={n}")
    return f"n = {', '.join(map(str, sizes))}"


def check_block_hadamrnn_orthogonal(limit: int) -> str:
    """Claim: ``block_hadamrnn.orthogonal``.

    W(u) = diag(u)·(I_q ⊗ S_m)/√m satisfies Wᵀ W = I (hence W Wᵀ = I) for symbols u_i with
    u_i² = 1, for every n = 2^k ≤ limit and every block size m = 2^j ≤ n.
    """
    pairs = 0
    for n in powers_of_two(limit):
        for m in powers_of_two(n):
            require(signed_block_is_orthogonal(n, m), f"Wᵀ W ≠ I modulo u_i² = 1 at n={n}, m={m}")
            pairs += 1
    return f"{pairs} pairs (n, m)"


class AdditionOnly:
    """A sympy expression that supports only + and −, and counts every use of them.

    Running the transform on these values proves that it never multiplies (a product would raise
    ``TypeError``) and counts its operations independently of the transform's own count.
    """

    __slots__ = ("expression", "counter")

    def __init__(self, expression: Any, counter: list[int]) -> None:
        self.expression = expression
        self.counter = counter

    def __add__(self, other: AdditionOnly) -> AdditionOnly:
        self.counter[0] += 1
        return AdditionOnly(self.expression + other.expression, self.counter)

    def __sub__(self, other: AdditionOnly) -> AdditionOnly:
        self.counter[0] += 1
        return AdditionOnly(self.expression - other.expression, self.counter)


def check_fwht_operation_count(limit: int) -> str:
    """Claim: ``fwht.operation_count``.

    On symbols x_1 … x_n the butterfly transform returns S_n x using n·log2(n) additions and
    subtractions and no multiplication, and stopping at block size m returns (I_q ⊗ S_m) x using
    n·log2(m), for every n = 2^k ≤ limit and m = 2^j ≤ n.
    """
    import sympy

    for n in powers_of_two(limit):
        x = sign_symbols(n, "x")
        for m in powers_of_two(n):
            counter = [0]
            transformed, reported = fwht([AdditionOnly(xi, counter) for xi in x], block_size=m)
            direct = sympy.Matrix(block_sylvester(n, m)) * sympy.Matrix(x)
            difference = (sympy.Matrix([t.expression for t in transformed]) - direct).expand()
            require(difference.is_zero_matrix is True, f"FWHT ≠ (I ⊗ S_m) x at n={n}, m={m}")
            expected = n * (m.bit_length() - 1)
            require(
                counter[0] == reported == expected,
                f"n={n}, m={m}: {counter[0]} operations ({reported} reported), not n·log2(m)",
            )
    return "counted by an addition-only number type"


def check_fwht_self_adjoint(limit: int) -> str:
    """Claim: ``fwht.self_adjoint``.

    ⟨S x, y⟩ = ⟨x, S y⟩ and ⟨W h, g⟩ = ⟨h, S(u ⊙ g)/√n⟩ for symbols x, y, h, g, u, with S applied
    by the butterfly transform, for every n = 2^k ≤ limit: the backward pass of h ↦ W h is the same
    kernel applied to u ⊙ g.
    """
    import sympy

    def inner(a: Sequence[Any], b: Sequence[Any]) -> Any:
        return sympy.Add(*[p * q for p, q in zip(a, b)])

    for n in powers_of_two(limit):
        x, y = sign_symbols(n, "x"), sign_symbols(n, "y")
        h, g, u = sign_symbols(n, "h"), sign_symbols(n, "g"), sign_symbols(n, "u")
        symmetric = inner(fwht(x)[0], y) - inner(x, fwht(y)[0])
        require(sympy.expand(symmetric) == 0, f"⟨Sx, y⟩ ≠ ⟨x, Sy⟩ at n={n}")
        # √n·⟨W h, g⟩ = ⟨u ⊙ S h, g⟩ and √n·⟨h, Wᵀ g⟩ = ⟨h, S(u ⊙ g)⟩.
        forward = inner([ui * s for ui, s in zip(u, fwht(h)[0])], g)
        backward = inner(h, fwht([ui * gi for ui, gi in zip(u, g)])[0])
        require(sympy.expand(forward - backward) == 0, f"⟨Wh, g⟩ ≠ ⟨h, S(u⊙g)⟩/√n at n={n}")
    return "identities expand to 0"


def check_kronecker_closure(limit: int) -> str:
    """Claim: ``kronecker.closure``.

    For generic matrices A (a×a) and B (b×b) of independent symbols, a, b ∈ {2, 4, …} ≤ limit,
    (A ⊗ B)(A ⊗ B)ᵀ = (A Aᵀ) ⊗ (B Bᵀ) as polynomials; hence A Aᵀ = a I and B Bᵀ = b I give
    (A ⊗ B)(A ⊗ B)ᵀ = ab I, and A ⊗ B is Hadamard when A and B are.
    """
    import sympy

    sizes = [s for s in powers_of_two(limit) if s >= 2]
    for a in sizes:
        for b in sizes:
            big_a = sympy.Matrix(a, a, sympy.symbols(f"a1:{a * a + 1}"))
            big_b = sympy.Matrix(b, b, sympy.symbols(f"b1:{b * b + 1}"))
            product_ = sympy.Matrix(kronecker(big_a.tolist(), big_b.tolist()))
            require(
                (product_ - sympy.kronecker_product(big_a, big_b)).is_zero_matrix is True,
                f"theory.kronecker differs from sympy's at {a}x{b}",
            )
            left = product_ * product_.T  # already a sum of products of symbols
            right = sympy.kronecker_product(big_a * big_a.T, big_b * big_b.T).expand()
            require((left - right).is_zero_matrix is True, f"mixed product fails at {a}x{b}")
            scalars = kronecker((a * sympy.eye(a)).tolist(), (b * sympy.eye(b)).tolist())
            difference = sympy.Matrix(scalars) - a * b * sympy.eye(a * b)
            require(difference.is_zero_matrix is True, "aI ⊗ bI ≠ abI")
    return f"{len(sizes) ** 2} pairs (a, b)"
