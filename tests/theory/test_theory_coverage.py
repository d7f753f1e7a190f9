"""The registry against the reference list of orders below 1000, and its input bounds.

The reference list is ``theory/data/orders_below_1000.txt``; the orders below are written out by
hand from the literature (SageMath's ``hadamard_matrix`` reaches every multiple of 4 below 668,
and the open orders below 1000 are 668, 716 and 892).
"""

from __future__ import annotations

import time

import pytest

from theory import registry
from theory.claims import CLAIMS
from theory.construction_checks import (
    check_registry_coverage,
    check_registry_errors,
    check_registry_orders,
    orders_to_build,
)
from theory.errors import ClaimFailed, HadamardOrderError, SizeLimitError
from theory.predicates import is_hadamard
from theory.reference import OPEN, expected_orders
from theory.verify import FAIL, PASS, run_claim

# The multiples of 4 below 1000 that Sylvester, Paley I, Paley II and their Kronecker products do
# not reach, but for which a Hadamard matrix is known.
BEYOND_PALEY_BELOW_668 = [
    92, 116, 156, 172, 184, 188, 232, 236, 260, 268, 292, 324, 356, 372, 376, 404, 412, 428, 436,
    452, 472, 476, 508, 520, 532, 536, 584, 596, 604, 612, 652,
]
BEYOND_PALEY_ABOVE_668 = [
    712, 732, 756, 764, 772, 808, 836, 852, 856, 872, 876, 904, 932, 940, 944, 952, 956, 964, 980,
    988, 996,
]
OPEN_BELOW_1000 = [668, 716, 892]


def claim(claim_id):
    return next(c for c in CLAIMS if c.id == claim_id)


@pytest.fixture
def fresh_registry():
    """Clear the registry's caches before and after a test that changes its rules."""
    registry.clear_caches()
    yield registry
    registry.clear_caches()


class TestReferenceList:
    def test_lists_every_candidate_order_once(self):
        expected = expected_orders()
        assert sorted(expected) == [1, 2] + list(range(4, 1000, 4))

    def test_open_orders(self):
        assert [n for n, c in expected_orders().items() if c == OPEN] == OPEN_BELOW_1000

    def test_the_orders_beyond_paley_are_listed_with_a_construction(self):
        expected = expected_orders()
        assert len(BEYOND_PALEY_BELOW_668) == 31 and len(BEYOND_PALEY_ABOVE_668) == 21
        for n in BEYOND_PALEY_BELOW_668 + BEYOND_PALEY_ABOVE_668:
            assert expected[n] != OPEN
            assert not expected[n].startswith(("Sylvester", "Paley")), n

    def test_a_few_entries_by_hand(self):
        expected = expected_orders()
        assert expected[12] == "Paley I, q=11"
        assert expected[92] == "Williamson, m=23"  # Baumert, Golomb and Hall 1962
        assert expected[428] == "Goethals-Seidel T-sequences, t=107"  # Kharaghani, Tayfeh-Rezaie 2005
        assert expected[764] == "Goethals-Seidel difference sets, v=191"  # Đoković 2008
        assert expected[184] == "Kronecker, 2 x 92"


class TestRegistryCoverage:
    def test_claim_passes(self):
        assert run_claim(claim("registry.coverage"), 1000).status == PASS

    @pytest.mark.parametrize("n", BEYOND_PALEY_BELOW_668 + BEYOND_PALEY_ABOVE_668)
    def test_reaches_the_orders_beyond_paley(self, n):
        assert registry.construction_for(n) is not None

    @pytest.mark.parametrize("n", [92, 116, 156, 172, 188, 236, 260, 268, 292, 324])
    def test_builds_them(self, n):
        h = registry.hadamard(n)
        assert len(h) == n and is_hadamard(h)

    @pytest.mark.parametrize("n", OPEN_BELOW_1000)
    def test_open_orders_are_reported_open(self, n):
        assert registry.construction_for(n) is None
        with pytest.raises(HadamardOrderError, match=f"n={n}: the order is open"):
            registry.hadamard(n)

    def test_removing_a_rule_fails_the_claims(self, fresh_registry, monkeypatch):
        rules = tuple(rule for rule in registry.RULES if rule is not registry._difference_sets_rule)
        monkeypatch.setattr(registry, "RULES", rules)
        registry.clear_caches()
        with pytest.raises(ClaimFailed, match="n=268: the registry has 'open'"):
            check_registry_coverage(1000)
        with pytest.raises(ClaimFailed, match="no matrix of order 268"):
            check_registry_orders(256)
        assert run_claim(claim("registry.coverage"), 1000).status == FAIL

    def test_a_different_construction_fails_the_claim(self, fresh_registry, monkeypatch):
        # Without the Williamson rule, 92 is still reached (T-sequences of length 23), but not by
        # the construction the reference list names.
        rules = tuple(rule for rule in registry.RULES if rule is not registry._williamson_rule)
        monkeypatch.setattr(registry, "RULES", rules)
        registry.clear_caches()
        with pytest.raises(ClaimFailed, match="n=92: the registry has 'Goethals-Seidel T-sequences, t=23'"):
            check_registry_coverage(1000)

    def test_removing_the_orders_12_20_28_fails_the_claims(self, fresh_registry, monkeypatch):
        removed = {12, 20, 28}

        def without(rule):
            return lambda n: None if n in removed else rule(n)

        monkeypatch.setattr(registry, "RULES", tuple(without(rule) for rule in registry.RULES))
        registry.clear_caches()
        assert run_claim(claim("registry.coverage"), 1000).status == FAIL
        assert run_claim(claim("registry.orders"), 256).status == FAIL
        with pytest.raises(ClaimFailed, match="n=12"):
            check_registry_coverage(1000)

    def test_forgetting_an_open_order_fails_the_errors_claim(self, fresh_registry, monkeypatch):
        monkeypatch.setattr(registry, "KNOWN_OPEN_ORDERS", (668, 892))
        with pytest.raises(ClaimFailed, match="hadamard\\(716\\)"):
            check_registry_errors(1000)

    def test_quick_sample_contains_every_direct_construction(self):
        sample = orders_to_build(256)
        assert set(range(4, 256, 4)) <= set(sample)
        assert {268, 292, 324, 428, 764, 956, 996} <= set(sample)
        assert 184 in sample and 376 not in sample  # 376 = 2 x 188, a Kronecker product
        assert set(orders_to_build(1000)) == {n for n, c in expected_orders().items() if c != OPEN}


class TestBounds:
    @pytest.mark.parametrize(
        ("call", "bound"),
        [
            (lambda: registry.hadamard(10**9), registry.BUILD_LIMIT),
            (lambda: registry.hadamard(registry.BUILD_LIMIT + 4), registry.BUILD_LIMIT),
            (lambda: registry.construction_for(10**9), registry.SEARCH_LIMIT),
            (lambda: registry.orders_below(10**9), registry.SEARCH_LIMIT),
        ],
    )
    def test_sizes_are_refused_at_once(self, call, bound):
        start = time.perf_counter()
        with pytest.raises(SizeLimitError, match=f"at most {bound}"):
            call()
        assert time.perf_counter() - start < 0.5

    @pytest.mark.parametrize("value", [4.0, True, 1.0, False, "4", None])
    def test_types(self, value):
        for function in (registry.hadamard, registry.construction_for, registry.orders_below):
            function(4)  # cached: 4.0 and True must not find the entries of 4 and 1
            function(1)
            with pytest.raises(TypeError, match="must be an int"):
                function(value)

    def test_above_1000_unreached_orders_are_not_called_open(self):
        # 1132 is not reached by these rules (283 is prime, 4·283 has no reachable factors).
        assert registry.construction_for(1132) is None
        with pytest.raises(HadamardOrderError, match="does not record which orders are open"):
            registry.hadamard(1132)
