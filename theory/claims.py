"""The single registry of claims that ``python -m hadamrnn_theory verify`` checks.

Claim ids are stable: the documentation's theorem labels use them. Rename one only together with
the docs. Each check's docstring names its claim id, and a test holds them to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import checks, construction_checks, crosscheck, symbolic

EXACT = "exact construction"
ENUMERATION = "enumeration"
SYMBOLIC = "symbolic"
CROSS_CHECK = "cross-check"


@dataclass(frozen=True)
class Claim:
    """One verifiable statement, with the range checked by ``--quick`` and by ``--full``.

    ``check(limit)`` returns a short detail on success and raises ``ClaimFailed`` or
    ``ClaimSkipped`` otherwise. ``scope`` describes the range, with ``{limit}`` filled in.
    """

    id: str
    statement: str
    method: str
    check: Callable[[int], str]
    quick: int
    full: int
    scope: str

    def scope_for(self, limit: int) -> str:
        """The range checked at this limit, in words."""
        return self.scope.format(limit=limit)


CLAIMS: tuple[Claim, ...] = (
    Claim(
        "sylvester.hadamard",
        "S_n from S_{2m} = [[S_m, S_m], [S_m, −S_m]] is a symmetric Hadamard matrix with "
        "S[i][j] = (−1)^popcount(i & j).",
        EXACT, checks.check_sylvester_hadamard, 256, 1024, "n = 2^k ≤ {limit}",
    ),
    Claim(
        "sylvester.spectrum",
        "S_n² = n I, trace S_n = 0 and det S_n = (−1)^{n/2} n^{n/2} for n ≥ 2, so the eigenvalues "
        "are ±√n, each with multiplicity n/2.",
        EXACT, checks.check_sylvester_spectrum, 64, 128, "n = 2^k ≤ {limit}",
    ),
    Claim(
        "finite_field.axioms",
        "GF(p^k) built on the irreducible polynomial found is a field, and its quadratic character "
        "χ is multiplicative with χ(−1) = (−1)^{(q−1)/2}.",
        EXACT, checks.check_finite_field_axioms, 16, 32, "prime powers q ≤ {limit}",
    ),
    Claim(
        "paley1.hadamard",
        "For a prime power q ≡ 3 mod 4 the Jacobsthal matrix is skew with zero row sums, and "
        "Paley I gives a Hadamard matrix of order q + 1.",
        EXACT, checks.check_paley_i, 256, 1000, "order q + 1 < {limit}",
    ),
    Claim(
        "paley2.hadamard",
        "For a prime power q ≡ 1 mod 4 the Jacobsthal matrix is symmetric with zero row sums, and "
        "Paley II gives a Hadamard matrix of order 2(q + 1).",
        EXACT, checks.check_paley_ii, 256, 1000, "order 2(q + 1) < {limit}",
    ),
    Claim(
        "kronecker.hadamard",
        "H_a ⊗ H_b is Hadamard for the registry's matrices H_a, H_b.",
        EXACT, checks.check_kronecker_hadamard, 128, 512, "a·b ≤ {limit}",
    ),
    Claim(
        "kronecker.closure",
        "(A ⊗ B)(A ⊗ B)ᵀ = (A Aᵀ) ⊗ (B Bᵀ) for generic symbolic A, B, so A ⊗ B is Hadamard of "
        "order ab whenever A and B are Hadamard of orders a and b.",
        SYMBOLIC, symbolic.check_kronecker_closure, 4, 4, "a, b ∈ {{2, 4}}",
    ),
    Claim(
        "equivalence.invariance",
        "Row and column permutations and negations map Hadamard matrices to Hadamard matrices, "
        "and the normal form (first row and column +1) does not depend on the signs.",
        EXACT, checks.check_equivalence_invariance, 64, 256, "registry orders n ≤ {limit}",
    ),
    Claim(
        "williamson.hadamard",
        "Every quadruple of the Williamson table is four symmetric circulant ±1 matrices with "
        "A² + B² + C² + D² = 4m I, and its Williamson array is a Hadamard matrix of order 4m.",
        EXACT, construction_checks.check_williamson, 256, 256, "4m < {limit} (every row)",
    ),
    Claim(
        "goethals_seidel.t_sequences",
        "The base sequences and Turyn-type sequences of the tables are complementary, they give "
        "T-sequences of length t, and the Goethals–Seidel array of the four circulant ±1 matrices "
        "built from them is a Hadamard matrix of order 4t.",
        EXACT, construction_checks.check_t_sequences, 1000, 1000, "4t < {limit} (every length)",
    ),
    Claim(
        "baumert_hall.hadamard",
        "T-sequences of length t give Baumert–Hall units E_1 … E_4 (E_k E_kᵀ = t I, "
        "E_k E_lᵀ + E_l E_kᵀ = 0, disjoint supports covering every entry), and Σ E_k ⊗ W_k with "
        "Williamson matrices W_k of order w is a Hadamard matrix of order 4tw.",
        EXACT, construction_checks.check_baumert_hall, 256, 1000, "units 4t < {limit}; 4tw < {limit}",
    ),
    Claim(
        "miyamoto.hadamard",
        "For a prime power q ≡ 1 mod 4 and a Hadamard matrix K of order q − 1, Miyamoto's "
        "construction is a Hadamard matrix of order 4q, whatever the order of the squares and "
        "non-squares of GF(q) and whichever K is used.",
        EXACT, construction_checks.check_miyamoto, 256, 1000, "4q < {limit}",
    ),
    Claim(
        "difference_sets.hadamard",
        "Every family of the table is 4-{v; k_1, …, k_4; λ} supplementary difference sets with "
        "Σ k_i = v + λ (difference counts exact), and its Goethals–Seidel array is a Hadamard "
        "matrix of order 4v.",
        EXACT, construction_checks.check_difference_sets, 1000, 1000, "4v < {limit} (every family)",
    ),
    Claim(
        "registry.coverage",
        "The registry builds every order below 1000 for which a Hadamard matrix is known (every "
        "multiple of 4 but 668, 716 and 892), each with the construction the reference list "
        "theory/data/orders_below_1000.txt names, and reports 668, 716 and 892 as open.",
        EXACT, construction_checks.check_registry_coverage, 1000, 1000, "n < {limit}",
    ),
    Claim(
        "registry.orders",
        "theory.hadamard(n) builds a matrix for every order of the reference list, by the listed "
        "construction, and it passes the exact check H Hᵀ = n I.",
        EXACT, construction_checks.check_registry_orders, 256, 1000,
        "n < {limit}; rules 5–9 < 1000",
    ),
    Claim(
        "registry.errors",
        "theory.hadamard(n) refuses every other order with the reason: not 1, 2 or a multiple of "
        "4; open (668, 716, 892; 668 the smallest open order); beyond the size bound.",
        EXACT, construction_checks.check_registry_errors, 1000, 1000,
        "n < {limit}, and the size bound",
    ),
    Claim(
        "hadamard.order_condition",
        "No Hadamard matrix has an order n > 2 that is not a multiple of 4.",
        ENUMERATION, checks.check_order_condition, 19, 23, "3 ≤ n ≤ {limit}, 4 ∤ n",
    ),
    Claim(
        "count.hadamard.small",
        "Brute force over all 2^{n²} sign matrices finds 2, 8, 0 and 768 Hadamard matrices of "
        "orders 1–4 (OEIS A206712), each equivalent to S_n.",
        ENUMERATION, checks.check_small_hadamard, 4, 4, "n ≤ {limit}",
    ),
    Claim(
        "count.hadamard.8",
        "There are 4,954,521,600 Hadamard matrices of order 8 (OEIS A206712).",
        ENUMERATION, checks.check_count_8, 8, 8, "n = 8",
    ),
    Claim(
        "count.hadamard.12",
        "There are 20,251,509,535,014,912,000 Hadamard matrices of order 12 (OEIS A206712).",
        ENUMERATION, checks.check_count_12, 12, 12, "n = 12",
    ),
    Claim(
        "count.hadamard.16",
        "There are 88,526,812,916,367,202,104,587,059,200,000 Hadamard matrices of order 16: the "
        "sum of (2^16·16!)²/|Aut(H)| over five pairwise inequivalent matrices, one of each of "
        "Hall's five classes, with |Aut(H)| computed by search.",
        ENUMERATION, checks.check_count_16, 16, 16, "n = 16",
    ),
    Claim(
        "count.hadamard.classification",
        "Counting by classes, Σ (2^n n!)²/|Aut(H)|, agrees with the clique count at n = 4, 8 and "
        "12 (one class each).",
        ENUMERATION, checks.check_classification, 12, 12, "n ≤ {limit}",
    ),
    Claim(
        "count.hadamard.transitivity",
        "Counting the cliques through one row and multiplying by |V|/(n−1) gives the same count "
        "as enumerating every clique.",
        ENUMERATION, checks.check_transitivity, 8, 12, "n ≤ {limit}",
    ),
    Claim(
        "binary_orthogonal.scaled_hadamard",
        "A matrix in {−a, +a}^{n×n} is orthogonal iff a = 1/√n and √n·W is Hadamard, so binary "
        "orthogonal matrices are as many as Hadamard matrices.",
        ENUMERATION, checks.check_binary_orthogonal, 4, 4, "every sign pattern, n ≤ {limit}",
    ),
    Claim(
        "count.weighing",
        "The numbers of weighing matrices W(n, w) (entries 0, ±1, W Wᵀ = w I) equal the closed "
        "forms and hand derivations in theory.reference.",
        ENUMERATION, checks.check_weighing_counts, 6, 6, "n ≤ {limit}, 0 ≤ w ≤ n",
    ),
    Claim(
        "hadamrnn.orthogonal",
        "W(u) = diag(u)·S_n/√n is orthogonal for every sign vector u (symbols with u_i² = 1).",
        SYMBOLIC, symbolic.check_hadamrnn_orthogonal, 64, 64, "n = 2^k ≤ {limit}",
    ),
    Claim(
        "hadamrnn.family_size",
        "The HadamRNN family {W(u)} has exactly 2^n distinct members, 2^(n−1) of them with "
        "determinant +1.",
        ENUMERATION, checks.check_hadamrnn_family, 8, 8, "n = 2^k ≤ {limit}",
    ),
    Claim(
        "hadamrnn.share",
        "The HadamRNN family is 2^n/A206712(n) of all binary orthogonal matrices: 1/48 at n = 4 "
        "and 1/19,353,600 at n = 8.",
        ENUMERATION, checks.check_hadamrnn_share, 8, 8, "n = 4, 8",
    ),
    Claim(
        "hadamrnn.two_sided_family",
        "The two-sided family diag(u)·S_n·diag(v) has exactly 2^(2n−1) distinct members.",
        ENUMERATION, checks.check_two_sided_family, 4, 8, "n = 2^k ≤ {limit}",
    ),
    Claim(
        "block_hadamrnn.orthogonal",
        "W(u) = diag(u)·(I_q ⊗ S_m)/√m is orthogonal for every sign vector u (symbols with "
        "u_i² = 1) and every block size m.",
        SYMBOLIC, symbolic.check_block_hadamrnn_orthogonal, 64, 64,
        "n = 2^k ≤ {limit}, m = 2^j ≤ n",
    ),
    Claim(
        "block_hadamrnn.family_size",
        "The Block-HadamRNN family {W(u)} has exactly 2^n distinct members for every block size.",
        ENUMERATION, checks.check_block_family, 8, 8, "n = 2^k ≤ {limit}, m = 2^j ≤ n",
    ),
    Claim(
        "block_hadamrnn.sparsity",
        "√m·W(u) has exactly m non-zeros in every row and column, its zero pattern is that of "
        "I_q ⊗ 1_{m×m} (density m/n), and W Wᵀ = I exactly.",
        EXACT, checks.check_block_sparsity, 64, 256, "n = 2^k ≤ {limit}, m = 2^j ≤ n",
    ),
    Claim(
        "fwht.factorisation",
        "S_n = Π_j (I_{2^j} ⊗ S_2 ⊗ I_{n/2^{j+1}}): log2 n butterfly stages, each with two "
        "non-zeros per row.",
        EXACT, checks.check_fwht_factorisation, 256, 1024, "n = 2^k ≤ {limit}",
    ),
    Claim(
        "fwht.operation_count",
        "The butterfly transform computes S_n x with n·log2 n additions and subtractions and no "
        "multiplication, and (I_q ⊗ S_m) x with n·log2 m.",
        SYMBOLIC, symbolic.check_fwht_operation_count, 64, 64, "n = 2^k ≤ {limit}, m = 2^j ≤ n",
    ),
    Claim(
        "fwht.self_adjoint",
        "⟨S x, y⟩ = ⟨x, S y⟩ and ⟨W h, g⟩ = ⟨h, S(u ⊙ g)/√n⟩: the backward pass of h ↦ W h is "
        "the same transform.",
        SYMBOLIC, symbolic.check_fwht_self_adjoint, 64, 64, "n = 2^k ≤ {limit}",
    ),
    Claim(
        "crosscheck.sylvester",
        "hadamrnn.sylvester(n) equals S_n exactly (int64 tensor).",
        CROSS_CHECK, crosscheck.check_library_sylvester, 256, 1024, "n = 2^k ≤ {limit}",
    ),
    Claim(
        "crosscheck.block_sylvester",
        "hadamrnn.block_sylvester(n, m) equals I_{n/m} ⊗ S_m exactly (int64 tensor).",
        CROSS_CHECK, crosscheck.check_library_block_sylvester, 128, 512,
        "n = 2^k ≤ {limit}, m = 2^j ≤ n",
    ),
    Claim(
        "crosscheck.hadamrnn_weight",
        "√n·weight_hh of hadamrnn.HadamRNN (√m·weight_hh with block_size=m) equals diag(u)·S "
        "(diag(u)·(I_q ⊗ S_m)) exactly for random latent signs u.",
        CROSS_CHECK, crosscheck.check_library_weight, 64, 256, "n = 2^k ≤ {limit}",
    ),
)


def claims_matching(prefixes: list[str] | None) -> list[Claim]:
    """The claims whose id starts with one of ``prefixes`` (all of them if None or empty)."""
    if not prefixes:
        return list(CLAIMS)
    return [claim for claim in CLAIMS if any(claim.id.startswith(p) for p in prefixes)]
