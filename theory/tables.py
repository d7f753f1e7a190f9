"""Reading the data tables of ``theory/data``.

The tables are plain text so that they can be read, diffed and compared with their published
sources by eye. ``#`` starts a comment; blank lines separate records where a record spans several
lines. Nothing here checks the data: each table's module verifies every record exactly when it
reads it, and raises :class:`~theory.errors.DataTableError` naming the file and line otherwise.
"""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"


def table_lines(name: str) -> list[tuple[int, list[str]]]:
    """(line number, whitespace-separated fields) of every non-comment line of ``data/name``."""
    rows = []
    for number, line in enumerate(_read(name).splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if fields:
            rows.append((number, fields))
    return rows


def table_blocks(name: str) -> list[tuple[int, dict[str, list[str]]]]:
    """The records of ``data/name``: blocks of ``key value value …`` lines, separated by blank
    lines; each with the number of its first line. A key may appear once per block."""
    blocks: list[tuple[int, dict[str, list[str]]]] = []
    current: dict[str, list[str]] = {}
    first_line = 0
    for number, line in enumerate(_read(name).splitlines(), start=1):
        if line.lstrip().startswith("#"):
            continue
        fields = line.split("#", 1)[0].split()
        if not fields:
            if current:
                blocks.append((first_line, current))
                current = {}
            continue
        if not current:
            first_line = number
        key, *values = fields
        if key in current:
            raise ValueError(f"{name}:{number}: the key {key!r} appears twice in one record")
        current[key] = values
    if current:
        blocks.append((first_line, current))
    return blocks


def _read(name: str) -> str:
    return (DATA_DIR / name).read_text(encoding="utf-8")
