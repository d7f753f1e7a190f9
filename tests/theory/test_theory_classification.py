"""The count of Hadamard matrices of order 16 from the five equivalence classes.

Expected values: the published total (OEIS A206712), and automorphism group orders derived by hand
from the published counts of orders ≤ 12 (one class each, so |Aut| = (2^n n!)²/A(n)) and from the
affine description of Sylvester's automorphisms.
"""

from __future__ import annotations

import random
from math import factorial

import pytest

from theory import classification
from theory.checks import check_count_16
from theory.classification import (
    automorphism_group_order,
    count_by_classification,
    four_profile,
    hadamard_classes,
    pair_profile,
)
from theory.enumeration import count_hadamard, count_weighing, counting_method
from theory.equivalence import negate_columns, negate_rows, permute_columns, permute_rows
from theory.errors import ClaimFailed
from theory.predicates import is_hadamard
from theory.sylvester import sylvester

A206712_16 = 88526812916367202104587059200000


def test_count_16_is_recomputed():
    hadamard_classes.cache_clear()
    assert count_hadamard(16) == A206712_16


def test_five_pairwise_inequivalent_classes():
    classes = hadamard_classes(16)
    assert len(classes) == 5
    assert len({cls.invariant for cls in classes}) == 5
    assert all(is_hadamard(cls.representative) for cls in classes)
    assert sum(cls.size for cls in classes) == A206712_16
    # The orders of the automorphism groups multiply out to the published total:
    # Σ (2^16·16!)²/|Aut| with |Aut| = 10321920 (Sylvester, 2·16²·|GL(4, 2)|), 294912, 86016
    # (twice: two classes that are each other's transposes) and 49152.
    assert sorted(cls.automorphisms for cls in classes) == [49152, 86016, 86016, 294912, 10321920]


@pytest.mark.parametrize(
    ("n", "count"), [(1, 2), (2, 8), (4, 768), (8, 4_954_521_600), (12, 20_251_509_535_014_912_000)]
)
def test_automorphisms_of_single_class_orders(n, count):
    # One class each, so |Aut(H)| = |G| / A(n) for any H of order n.
    group = (2**n * factorial(n)) ** 2
    h = sylvester(n) if n & (n - 1) == 0 else hadamard_classes(12)[0].representative
    assert automorphism_group_order(h) == group // count


def test_sylvester_automorphisms_are_affine():
    # Rows x ↦ Ax + a, columns y ↦ A^{−T} y + b, a global sign: 2·4^k·|GL(k, 2)|; |GL(4, 2)| = 20160.
    assert automorphism_group_order(sylvester(16)) == 2 * 4**4 * 20160


def test_automorphism_order_is_an_invariant():
    rng = random.Random(7)
    h = hadamard_classes(16)[1].representative
    rows, columns = list(range(16)), list(range(16))
    rng.shuffle(rows)
    rng.shuffle(columns)
    signs = [rng.choice((1, -1)) for _ in range(16)]
    moved = negate_columns(negate_rows(permute_columns(permute_rows(h, rows), columns), signs), signs[::-1])
    assert automorphism_group_order(moved) == automorphism_group_order(h)
    assert pair_profile(moved) == pair_profile(h)


def test_pair_profile_separates_what_the_4_profile_does_not():
    transposed = [cls for cls in hadamard_classes(16) if cls.found_as.startswith("transpose")]
    assert transposed, "the search found a class as the transpose of another"
    h = transposed[0].representative
    ht = tuple(zip(*h))
    assert four_profile(h) == four_profile(ht)
    assert pair_profile(h) != pair_profile(ht)


def test_classification_agrees_with_the_clique_count():
    for n in (4, 8, 12):
        assert count_by_classification(n) == count_hadamard(n)


def test_a_missing_class_fails_the_claim(monkeypatch):
    monkeypatch.setitem(classification.CLASS_COUNTS, 16, 4)
    hadamard_classes.cache_clear()
    try:
        with pytest.raises(ClaimFailed):
            check_count_16(16)
    finally:
        monkeypatch.undo()
        hadamard_classes.cache_clear()


def test_method_is_named():
    assert counting_method(16).startswith("classification into the 5 equivalence classes")
    assert counting_method(12).startswith("clique search")
    assert counting_method(7).startswith("parity")


@pytest.mark.parametrize("bad", [1.5, 16.0, True, "16", None])
def test_counting_takes_ints_only(bad):
    with pytest.raises(TypeError, match="must be an int"):
        count_hadamard(bad)
    with pytest.raises(TypeError):
        counting_method(bad)
    with pytest.raises(TypeError, match="must be an int"):
        count_weighing(bad, 2)
    with pytest.raises(TypeError, match="must be an int"):
        count_weighing(4, bad)
    with pytest.raises(TypeError, match="must be an int"):
        hadamard_classes(bad)


def test_the_classification_is_only_for_known_orders():
    with pytest.raises(ValueError, match="got 20"):
        hadamard_classes(20)
