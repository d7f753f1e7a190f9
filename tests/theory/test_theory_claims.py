"""The claim registry: stable, unique ids, each named by its check's docstring."""

from __future__ import annotations

import re

from hadamrnn_theory.claims import CLAIMS, CROSS_CHECK, ENUMERATION, EXACT, SYMBOLIC

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")


def test_ids_are_unique_and_well_formed():
    ids = [claim.id for claim in CLAIMS]
    assert len(ids) == len(set(ids))
    assert all(ID_PATTERN.match(claim_id) for claim_id in ids), ids


def test_each_check_names_its_claim():
    for claim in CLAIMS:
        assert f"Claim: ``{claim.id}``." in (claim.check.__doc__ or ""), claim.id


def test_each_check_serves_one_claim():
    checks = [claim.check for claim in CLAIMS]
    assert len(checks) == len(set(checks))


def test_fields():
    for claim in CLAIMS:
        assert claim.method in {EXACT, ENUMERATION, SYMBOLIC, CROSS_CHECK}
        assert claim.quick <= claim.full
        assert claim.statement.endswith(".")
        assert claim.scope_for(claim.quick)


def test_issue_claims_are_present():
    ids = {claim.id for claim in CLAIMS}
    assert {
        "sylvester.hadamard",
        "paley1.hadamard",
        "paley2.hadamard",
        "count.hadamard.8",
        "count.hadamard.12",
        "hadamrnn.orthogonal",
        "block_hadamrnn.orthogonal",
        "fwht.factorisation",
        "kronecker.closure",
        "fwht.self_adjoint",
        "crosscheck.hadamrnn_weight",
    } <= ids


def test_symbolic_claims_reach_64_in_quick_mode():
    for claim in CLAIMS:
        if claim.method == SYMBOLIC and claim.id != "kronecker.closure":
            assert claim.quick >= 64, claim.id
