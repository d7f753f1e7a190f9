"""Render claim results as a text table, a Markdown table or JSON."""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable

from .verify import ClaimResult

COLUMNS = ("result", "claim", "method", "range", "time", "statement")


def format_duration(nanoseconds: int) -> str:
    """Seconds with three decimals, by integer arithmetic."""
    milliseconds = nanoseconds // 1_000_000
    return f"{milliseconds // 1000}.{milliseconds % 1000:03d} s"


def text_header() -> str:
    """The header line of the text table."""
    return _text_line(COLUMNS)


def text_row(result: ClaimResult) -> str:
    """One line of the text table; the detail follows the statement in brackets."""
    statement = result.claim.statement + (f" [{result.detail}]" if result.detail else "")
    cells = (
        result.status,
        result.claim.id,
        result.claim.method,
        result.scope,
        format_duration(result.elapsed_ns),
        statement,
    )
    return _text_line(cells)


def _text_line(cells: tuple[str, ...]) -> str:
    status, claim, method, scope, duration, statement = cells
    return f"{status:<8} {claim:<34} {method:<19} {scope:<31} {duration:>9}  {statement}"


def summary(results: list[ClaimResult], mode: str) -> str:
    """'N claims: … passed, … failed, … skipped in T (mode)'."""
    counts = Counter(result.status for result in results)
    total = format_duration(sum(result.elapsed_ns for result in results))
    return (
        f"{len(results)} claims: {counts['PASS']} passed, {counts['FAIL']} failed, "
        f"{counts['SKIPPED']} skipped in {total} ({mode})"
    )


def markdown_table(results: Iterable[ClaimResult]) -> str:
    """A Markdown table with one row per claim (pipes in cells are escaped)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for result in results:
        statement = result.claim.statement + (f" ({result.detail})" if result.detail else "")
        cells = (
            result.status,
            f"`{result.claim.id}`",
            result.claim.method,
            result.scope,
            format_duration(result.elapsed_ns),
            statement,
        )
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def as_json(results: list[ClaimResult], mode: str) -> dict[str, Any]:
    """The results as a JSON-ready dictionary (times in integer milliseconds)."""
    counts = Counter(result.status for result in results)
    return {
        "mode": mode,
        "passed": counts["PASS"],
        "failed": counts["FAIL"],
        "skipped": counts["SKIPPED"],
        "claims": [
            {
                "id": result.claim.id,
                "statement": result.claim.statement,
                "method": result.claim.method,
                "range": result.scope,
                "limit": result.limit,
                "result": result.status,
                "detail": result.detail,
                "time_ms": result.elapsed_ns // 1_000_000,
            }
            for result in results
        ],
    }
