"""The documentation's sources say what a user needs and nothing internal: no stale wording, one
deployment page, a landing page that is more than a list of links. (The built pages are checked
in tests/test_docs.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

#: Wording that only makes sense inside the project's own planning: a user has no "spec", no
#: numbered "acceptance" points and no tracker "issue" to look up.
INTERNAL_WORDING = re.compile(r"\bacceptance\b|\bspec\s*§|\bissues?\b|no MNIST loader", re.IGNORECASE)


def source_pages() -> list[Path]:
    pages = [path for path in DOCS.rglob("*") if path.suffix in (".md", ".py", ".css", ".c", ".toml")]
    pages = [path for path in pages if not {"_build", "_generated"} & set(path.relative_to(DOCS).parts)]
    # The module docstrings become the API pages; configs and the README are shown to users too.
    return sorted(pages + list((ROOT / "hadamrnn").rglob("*.py")) + list((ROOT / "configs").glob("*.toml")) + [ROOT / "README.md"])


@pytest.mark.parametrize("page", source_pages(), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_internal_wording(page):
    found = [
        f"{page.relative_to(ROOT)}:{number}: {line.strip()}"
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
        if INTERNAL_WORDING.search(line)
    ]
    assert found == []


def test_the_wording_check_can_fail():
    for line in ("### Sizes (acceptance 3)", "(spec §4: one transform)", "the kernels issue", "no MNIST loader yet"):
        assert INTERNAL_WORDING.search(line), line


def test_one_deployment_page_with_the_complete_c_program():
    assert not (DOCS / "guides" / "export.md").exists()
    mentions = [path for path in DOCS.rglob("*.md") if "guides/export" in path.read_text(encoding="utf-8")]
    assert mentions == []
    deployment = (DOCS / "deployment.md").read_text(encoding="utf-8")
    assert "```{literalinclude} guides/predict.c" in deployment and "quantize_input" in (DOCS / "guides" / "predict.c").read_text()
    assert "```{literalinclude} predict.c" in (DOCS / "guides" / "own_data.md").read_text(encoding="utf-8")


def test_landing_page_says_what_hadamrnn_is_and_leads_to_train_verify_deploy():
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    assert "## Quickstart" in index and "```{figure}" in index
    for card in ("**Train**", "**Verify**", "**Deploy**"):
        assert card in index
    toctrees = re.findall(r"```\{toctree\}\n(.*?)```", index, re.DOTALL)
    assert toctrees and all(":hidden:" in block for block in toctrees)  # the sidebar lists the pages, the page does not
