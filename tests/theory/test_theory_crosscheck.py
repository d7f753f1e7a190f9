"""The cross-check with the PyTorch library: skipped without it, exact with it."""

from __future__ import annotations

import sys

import pytest

from hadamrnn_theory.claims import CLAIMS
from hadamrnn_theory.verify import PASS, SKIPPED, exit_status, run_claim

CROSS_CHECKS = [claim for claim in CLAIMS if claim.id.startswith("crosscheck.")]


def test_there_are_three_cross_checks():
    assert [claim.id for claim in CROSS_CHECKS] == [
        "crosscheck.sylvester",
        "crosscheck.block_sylvester",
        "crosscheck.hadamrnn_weight",
    ]


@pytest.mark.parametrize("claim", CROSS_CHECKS, ids=lambda claim: claim.id)
def test_skipped_when_the_library_cannot_be_imported(claim, monkeypatch):
    monkeypatch.setitem(sys.modules, "hadamrnn", None)  # makes ``import hadamrnn`` fail
    result = run_claim(claim, 4)
    assert result.status == SKIPPED
    assert "hadamrnn is not importable" in result.detail
    assert exit_status([result]) == 0


@pytest.mark.parametrize("claim", CROSS_CHECKS, ids=lambda claim: claim.id)
def test_library_agrees_exactly(claim):
    pytest.importorskip("hadamrnn")
    result = run_claim(claim, 16)
    assert result.status == PASS, result.detail
