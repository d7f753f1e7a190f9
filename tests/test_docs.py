"""The documentation: it builds with warnings as errors, its examples run, and its theorems and
the machine checks of ``theory/`` cite each other completely.

Needs the ``docs`` extra (``pip install -e ".[test,theory,docs]"``). The HTML build runs
``python -m hadamrnn_theory verify --quick`` once, in the background while Sphinx reads the pages.
"""

from __future__ import annotations

import contextlib
import doctest
import importlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))

import hadamrnn_docs  # noqa: E402  (docs/_ext: the parser of the theorem blocks)
from hadamrnn_theory.claims import CLAIMS  # noqa: E402

CLAIM_IDS = {claim.id for claim in CLAIMS}
THEOREMS = hadamrnn_docs.collect_theorems(DOCS)


# --- the build ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> Path:
    """``sphinx-build -W --keep-going -b html docs <tmp>``, once for this module."""
    work = tmp_path_factory.mktemp("docs")
    out = work / "html"
    env = {**os.environ, hadamrnn_docs.VERIFY_JSON_ENV: str(work / "verify.json")}
    env.pop("HADAMRNN_DOCS_MATHJAX_PATH", None)
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-d", str(work / "doctrees"), str(DOCS), str(out)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"sphinx-build failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    return out


def test_sphinx_build_passes_with_warnings_as_errors(html):
    assert (html / "index.html").is_file()
    assert (html / "theory" / "verification.html").is_file()


def test_verification_table_shows_the_results_of_this_build(html):
    results = json.loads((html.parent / "verify.json").read_text(encoding="utf-8"))
    assert results["mode"] == "quick"
    assert {claim["id"] for claim in results["claims"]} == CLAIM_IDS
    assert results["failed"] == 0
    page = (html / "theory" / "verification.html").read_text(encoding="utf-8")
    assert "NOT RUN" not in page and hadamrnn_docs.PENDING not in page
    assert f"{len(CLAIMS)} claims, {results['passed']} passed" in page
    for claim in CLAIMS:
        assert f'id="{hadamrnn_docs.claim_anchor(claim.id)}"' in page, claim.id


def test_every_theorem_label_is_an_anchor_of_its_page(html):
    for block in THEOREMS:
        page = (html / f"{block.docname}.html").read_text(encoding="utf-8")
        assert f'id="{block.label}"' in page, (block.docname, block.label)


def test_pages_have_no_unrendered_markup(html):
    for page in sorted(html.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        for marker in ("{prf:", "{claim}", "{check}", "{eval-rst}", "{verification-table}", "{config-schema}"):
            assert marker not in text, (page.relative_to(html), marker)


def test_ste_figure_is_rendered(html):
    page = (html / "guides" / "quantization.html").read_text(encoding="utf-8")
    image = re.search(r'<img[^>]+src="([^"]*ste\.png)"', page)
    assert image, "the quantization guide shows no STE figure"
    png = (html / "guides" / image.group(1)).resolve()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- theorems and claims cite each other -----------------------------------------------------------


def test_every_claim_is_cited_by_a_theorem_and_every_citation_exists():
    cited = {claim_id for block in THEOREMS for claim_id in block.claims}
    assert cited - CLAIM_IDS == set(), "theorems cite claims that python -m hadamrnn_theory verify does not check"
    assert CLAIM_IDS - cited == set(), "claims of python -m hadamrnn_theory verify that no theorem cites"


def test_every_theorem_has_a_unique_label_and_a_check():
    assert len(THEOREMS) >= len(CLAIM_IDS) // 2  # the parser found the theorem blocks
    labels = [block.label for block in THEOREMS]
    assert None not in labels, [(b.docname, b.title) for b in THEOREMS if b.label is None]
    assert len(labels) == len(set(labels)), "duplicate theorem labels"
    for block in THEOREMS:
        assert block.claims or block.checks, f"{block.label} names no claim and no test"


def test_theorem_labels_are_derived_from_their_claim_ids():
    """A claim's primary theorem is labelled ``thm-`` + the claim id with hyphens, and cites it."""
    label_of = {claim_id: hadamrnn_docs.theorem_label(claim_id) for claim_id in CLAIM_IDS}
    assert len(set(label_of.values())) == len(CLAIM_IDS), "two claim ids map to the same label"
    claim_of = {label: claim_id for claim_id, label in label_of.items()}
    primary = {block.label: block for block in THEOREMS if block.label in claim_of}
    for label, block in primary.items():
        assert claim_of[label] in block.claims, f"{label} does not cite claim {claim_of[label]}"
    for claim_id in CLAIM_IDS:
        citing = [block for block in THEOREMS if claim_id in block.claims]
        assert any(block.label in primary for block in citing), f"{claim_id} has no primary theorem"


def test_every_test_named_by_a_theorem_exists():
    for block in THEOREMS:
        for reference in block.checks:
            assert hadamrnn_docs.check_exists(reference) is None, (block.label, reference)


# --- examples --------------------------------------------------------------------------------------

DOCTEST_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def documented_modules() -> list[str]:
    """The modules of the API reference (``.. automodule::`` lines of docs/api/*.md)."""
    names = []
    for page in sorted((DOCS / "api").glob("*.md")):
        names += re.findall(r"^\.\. automodule:: (\S+)", page.read_text(encoding="utf-8"), re.MULTILINE)
    return names


def test_api_reference_covers_every_public_module():
    import hadamrnn

    modules = set(documented_modules())
    for name in hadamrnn.__all__:
        if name != "__version__":
            assert f"hadamrnn.{hadamrnn._SOURCE[name]}" in modules, name


@pytest.mark.parametrize("module_name", documented_modules())
def test_docstring_examples_pass(module_name):
    if module_name == "hadamrnn.native":
        from hadamrnn import native

        if not native.is_available():  # its examples call the C kernels; tests/test_native.py's TestBuild
            pytest.skip(f"the examples of hadamrnn.native need the C extension: {native.unavailable_reason()}")
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=DOCTEST_FLAGS)
    output = io.StringIO()
    for test in finder.find(module, module_name, globs=dict(vars(module))):
        runner.run(test, out=output.write)
    assert runner.failures == 0, output.getvalue()


SEPARATELY_WRITTEN = {"deployment.md", "performance.md"}
"""Pages written outside the documentation's own set, whose snippets may be excerpts."""


def pages_with_examples() -> list[Path]:
    pages = (p for p in DOCS.rglob("*.md") if not {"_build", "_generated", "theory_notes"} & set(p.parts))
    return sorted(
        p
        for p in pages
        if str(p.relative_to(DOCS)) not in SEPARATELY_WRITTEN and "```python" in p.read_text(encoding="utf-8")
    )


@pytest.mark.parametrize("page", pages_with_examples(), ids=lambda p: str(p.relative_to(DOCS)))
def test_python_examples_on_the_pages_run(page, tmp_path, monkeypatch):
    """Every ```python block of a page runs, in order, in one namespace per page."""
    blocks = re.findall(r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs_example__"}
    with contextlib.redirect_stdout(io.StringIO()):
        for block in blocks:
            exec(compile(block, f"{page.name} example", "exec"), namespace)


# --- what a reader sees ------------------------------------------------------------------------------


def test_built_pages_have_no_internal_wording(html):
    from test_docs_content import INTERNAL_WORDING

    for page in sorted(html.rglob("*.html")):
        text = re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8"))
        match = INTERNAL_WORDING.search(text)
        assert match is None, (page.relative_to(html), text[max(0, match.start() - 80) : match.end() + 80])


def test_verification_table_renders_math_and_breaks_claim_ids_between_words(html):
    page = (html / "theory" / "verification.html").read_text(encoding="utf-8")
    table = page[page.index('class="verification-table') :]
    assert table.count('class="math notranslate nohighlight"') >= len(CLAIMS)  # every statement has typeset formulas
    assert "(−1)^popcount" not in table  # the plain-text statement of theory/claims.py is not shown
    assert "sylvester.<wbr>hadamard" in re.sub(r"</?span[^>]*>", "", table)
    css = (DOCS / "_static" / "hadamrnn.css").read_text(encoding="utf-8")
    rule = re.search(r"code\.claim-id, code\.check-id \{([^}]*)\}", css).group(1)
    assert "anywhere" not in rule and "break-all" not in rule


def test_every_claim_has_a_typeset_statement():
    from theory.statements import STATEMENTS_TEX

    assert set(STATEMENTS_TEX) == CLAIM_IDS
    for claim_id, statement in STATEMENTS_TEX.items():
        assert statement.count("$") % 2 == 0 and statement.endswith("."), claim_id


def test_results_page_is_condensed_and_links_its_details(html):
    page = (html / "results.html").read_text(encoding="utf-8")
    assert "results_details.html" in page
    start = page.index("<table", page.index("Every run in detail"))  # the generated table, after its summary line
    table = page[start : page.index("</table>", start)]
    assert len(re.findall(r"<th ", table)) == 6  # run, task, model, test, size, epochs
    details = (html / "results_details.html").read_text(encoding="utf-8")
    assert "training time" in details and "command" in details
