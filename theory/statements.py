"""The claims' statements as the documentation renders them: prose with ``$…$`` LaTeX formulas.

:data:`theory.claims.CLAIMS` states each claim in plain Unicode, for the terminal report of
``python -m hadamrnn_theory verify``; the verification table of the documentation shows the same statement
with its formulas typeset. Keep the two in step when a statement changes: the documentation tests
require one entry here per claim id. The macros ``\\diag``, ``\\popcount``, ``\\GF`` and ``\\tr``
are defined by the documentation's MathJax configuration.
"""

from __future__ import annotations

__all__ = ["STATEMENTS_TEX"]

STATEMENTS_TEX: dict[str, str] = {
    "sylvester.hadamard": r"$S_n$, from $S_{2m} = \begin{bmatrix} S_m & S_m \\ S_m & -S_m \end{bmatrix}$, is a symmetric "
    r"Hadamard matrix with $S_{ij} = (-1)^{\popcount(i \,\&\, j)}$.",
    "sylvester.spectrum": r"$S_n^2 = nI$, $\tr S_n = 0$ and $\det S_n = (-1)^{n/2} n^{n/2}$ for $n \ge 2$, so the "
    r"eigenvalues are $\pm\sqrt n$, each with multiplicity $n/2$.",
    "finite_field.axioms": r"$\GF(p^k)$ built on the irreducible polynomial found is a field, and its quadratic "
    r"character $\chi$ is multiplicative with $\chi(-1) = (-1)^{(q-1)/2}$.",
    "paley1.hadamard": r"For a prime power $q \equiv 3 \pmod 4$ the Jacobsthal matrix is skew with zero row sums, and "
    r"Paley I gives a Hadamard matrix of order $q + 1$.",
    "paley2.hadamard": r"For a prime power $q \equiv 1 \pmod 4$ the Jacobsthal matrix is symmetric with zero row sums, "
    r"and Paley II gives a Hadamard matrix of order $2(q + 1)$.",
    "kronecker.hadamard": r"$H_a \otimes H_b$ is Hadamard for the registry's matrices $H_a$, $H_b$.",
    "kronecker.closure": r"$(A \otimes B)(A \otimes B)^\top = (AA^\top) \otimes (BB^\top)$ for generic symbolic $A$, "
    r"$B$, so $A \otimes B$ is Hadamard of order $ab$ whenever $A$ and $B$ are Hadamard of orders $a$ and $b$.",
    "equivalence.invariance": r"Row and column permutations and negations map Hadamard matrices to Hadamard matrices, "
    r"and the normal form (first row and column $+1$) does not depend on the signs.",
    "registry.orders": r"`theory.hadamard(n)` builds and exactly verifies a Hadamard matrix for every order of the "
    r"reference list by its listed construction.",
    "registry.errors": r"`theory.hadamard(n)` refuses every other order with the reason: not $1$, $2$ or a multiple "
    r"of $4$; an open order ($668$, $716$, $892$ below $1000$); beyond the bound it builds.",
    "hadamard.order_condition": r"No Hadamard matrix has an order $n > 2$ that is not a multiple of $4$.",
    "count.hadamard.small": r"Brute force over all $2^{n^2}$ sign matrices finds $2$, $8$, $0$ and $768$ Hadamard "
    r"matrices of orders $1$ to $4$ (OEIS A206712), each equivalent to $S_n$.",
    "count.hadamard.8": r"There are $4{,}954{,}521{,}600$ Hadamard matrices of order $8$ (OEIS A206712).",
    "count.hadamard.12": r"There are $20{,}251{,}509{,}535{,}014{,}912{,}000$ Hadamard matrices of order $12$ "
    r"(OEIS A206712).",
    "count.hadamard.transitivity": r"Counting the cliques through one row and multiplying by $|V|/(n-1)$ gives the "
    r"same count as enumerating every clique.",
    "binary_orthogonal.scaled_hadamard": r"A matrix in $\{-a, +a\}^{n \times n}$ is orthogonal if and only if "
    r"$a = 1/\sqrt n$ and $\sqrt n\, W$ is Hadamard, so binary orthogonal matrices are as many as Hadamard matrices.",
    "count.weighing": r"The numbers of weighing matrices $W(n, w)$ (entries $0, \pm 1$, $WW^\top = wI$) equal the "
    r"closed forms and hand derivations in `theory.reference`.",
    "hadamrnn.orthogonal": r"$W(u) = \diag(u)\, S_n/\sqrt n$ is orthogonal for every sign vector $u$ (symbols with "
    r"$u_i^2 = 1$).",
    "hadamrnn.family_size": r"The HadamRNN family $\{W(u)\}$ has exactly $2^n$ distinct members, $2^{n-1}$ of them "
    r"with determinant $+1$.",
    "hadamrnn.share": r"The HadamRNN family is $2^n / \mathrm{A206712}(n)$ of all binary orthogonal matrices: "
    r"$1/48$ at $n = 4$ and $1/19{,}353{,}600$ at $n = 8$.",
    "hadamrnn.two_sided_family": r"The two-sided family $\diag(u)\, S_n \diag(v)$ has exactly $2^{2n-1}$ distinct "
    r"members.",
    "block_hadamrnn.orthogonal": r"$W(u) = \diag(u)\,(I_q \otimes S_m)/\sqrt m$ is orthogonal for every sign vector "
    r"$u$ (symbols with $u_i^2 = 1$) and every block size $m$.",
    "block_hadamrnn.family_size": r"The Block-HadamRNN family $\{W(u)\}$ has exactly $2^n$ distinct members for every "
    r"block size.",
    "block_hadamrnn.sparsity": r"$\sqrt m\, W(u)$ has exactly $m$ non-zeros in every row and column, its zero pattern "
    r"is that of $I_q \otimes \mathbf{1}_{m \times m}$ (density $m/n$), and $WW^\top = I$ exactly.",
    "fwht.factorisation": r"$S_n = \prod_j \left(I_{2^j} \otimes S_2 \otimes I_{n/2^{j+1}}\right)$: $\log_2 n$ "
    r"butterfly stages, each with two non-zeros per row.",
    "fwht.operation_count": r"The butterfly transform computes $S_n x$ with $n \log_2 n$ additions and subtractions "
    r"and no multiplication, and $(I_q \otimes S_m)\, x$ with $n \log_2 m$.",
    "fwht.self_adjoint": r"$\langle Sx, y\rangle = \langle x, Sy\rangle$ and $\langle Wh, g\rangle = \langle h, "
    r"S(u \odot g)/\sqrt n\rangle$: the backward pass of $h \mapsto Wh$ is the same transform.",
    "crosscheck.sylvester": r"`hadamrnn.sylvester(n)` equals $S_n$ exactly (an int64 tensor).",
    "crosscheck.block_sylvester": r"`hadamrnn.block_sylvester(n, m)` equals $I_{n/m} \otimes S_m$ exactly (an int64 "
    r"tensor).",
    "crosscheck.hadamrnn_weight": r"$\sqrt n$ times `weight_hh` of `hadamrnn.HadamRNN` ($\sqrt m$ times `weight_hh` "
    r"with `block_size=m`) equals $\diag(u)\, S_n$ (respectively $\diag(u)\,(I_q \otimes S_m)$) exactly for random "
    r"latent signs $u$.",
    "williamson.hadamard": r"Every quadruple of the Williamson table is four symmetric circulant $\pm 1$ matrices with "
    r"$A^2 + B^2 + C^2 + D^2 = 4mI$, and its Williamson array is a Hadamard matrix of order $4m$.",
    "goethals_seidel.t_sequences": r"The base sequences and Turyn-type sequences of the tables are complementary, "
    r"they give T-sequences of length $t$, and the Goethals–Seidel array of the four circulant $\pm 1$ matrices built "
    r"from them is a Hadamard matrix of order $4t$.",
    "baumert_hall.hadamard": r"T-sequences of length $t$ give Baumert–Hall units $E_1, \dots, E_4$ "
    r"($E_k E_k^\top = tI$, $E_k E_l^\top + E_l E_k^\top = 0$, disjoint supports covering every entry), and "
    r"$\sum_k E_k \otimes W_k$ with Williamson matrices $W_k$ of order $w$ is a Hadamard matrix of order $4tw$.",
    "miyamoto.hadamard": r"For a prime power $q \equiv 1 \pmod 4$ and a Hadamard matrix $K$ of order $q - 1$, "
    r"Miyamoto's construction is a Hadamard matrix of order $4q$, whatever the order of the squares and non-squares "
    r"of $\GF(q)$ and whichever $K$ is used.",
    "difference_sets.hadamard": r"Every family of the table is $4$-$\{v; k_1, \dots, k_4; \lambda\}$ supplementary "
    r"difference sets with $\sum_i k_i = v + \lambda$, and its Goethals–Seidel array is a Hadamard matrix of order $4v$.",
    "registry.coverage": r"The registry builds every order below $1000$ for which a Hadamard matrix is known (every "
    r"multiple of $4$ but $668$, $716$ and $892$), each with the construction that the reference list "
    r"`theory/data/orders_below_1000.txt` names, and reports $668$, $716$ and $892$ as open.",
    "count.hadamard.16": r"There are $88{,}526{,}812{,}916{,}367{,}202{,}104{,}587{,}059{,}200{,}000$ Hadamard matrices "
    r"of order $16$: the sum of $(2^{16}\,16!)^2/|\mathrm{Aut}(H)|$ over one matrix of each of Hall's five classes, "
    r"with $|\mathrm{Aut}(H)|$ computed by search.",
    "count.hadamard.classification": r"Counting by classes, $\sum_H (2^n n!)^2/|\mathrm{Aut}(H)|$, agrees with the "
    r"clique count at $n = 4$, $8$ and $12$ (one class each).",
}
