"""Run claims and collect their results; :mod:`theory.report` renders them."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Callable, Iterable

from .claims import Claim
from .errors import ClaimFailed, ClaimSkipped

PASS, FAIL, SKIPPED = "PASS", "FAIL", "SKIPPED"


@dataclass(frozen=True)
class ClaimResult:
    """The outcome of one claim at one limit."""

    claim: Claim
    limit: int
    status: str
    detail: str
    elapsed_ns: int

    @property
    def scope(self) -> str:
        return self.claim.scope_for(self.limit)


def run_claim(claim: Claim, limit: int) -> ClaimResult:
    """Run one check. An unexpected exception is a failure, reported with where it was raised."""
    start = time.perf_counter_ns()
    try:
        status, detail = PASS, claim.check(limit)
    except ClaimFailed as failure:
        status, detail = FAIL, str(failure)
    except ClaimSkipped as skip:
        status, detail = SKIPPED, str(skip)
    except Exception as error:  # noqa: BLE001 - a crashing check is a failed claim, not a crash
        where = traceback.extract_tb(error.__traceback__)[-1]
        status = FAIL
        detail = f"{type(error).__name__}: {error} (at {where.filename}:{where.lineno})"
    return ClaimResult(claim, limit, status, detail, time.perf_counter_ns() - start)


def run_claims(
    claims: Iterable[Claim],
    full: bool,
    on_result: Callable[[ClaimResult], None] | None = None,
) -> list[ClaimResult]:
    """Run every claim at its quick or full limit, calling ``on_result`` after each."""
    results = []
    for claim in claims:
        result = run_claim(claim, claim.full if full else claim.quick)
        if on_result is not None:
            on_result(result)
        results.append(result)
    return results


def exit_status(results: Iterable[ClaimResult]) -> int:
    """1 if any claim failed, else 0 (skipped claims do not fail the run)."""
    return 1 if any(result.status == FAIL for result in results) else 0
