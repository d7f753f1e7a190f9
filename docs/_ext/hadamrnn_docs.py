"""The local Sphinx extension of the hadamrnn docs.

It ties the theory chapter to the machine checks of ``theory/``:

* the role ``{claim}`claim.id``` cites a claim of ``python -m hadamrnn_theory verify``: it renders the id,
  links it to the claim's row in the verification table, and warns (an error under ``-W``) when
  the id is not in :data:`theory.claims.CLAIMS`;
* the role ``{check}`path/test_file.py::test_name``` names a pytest test that checks a theorem
  which has no ``theory/`` claim; it warns when the file or the test does not exist;
* the directive ``{verification-table}`` renders the claims with their statement, method and
  range, a link to each theorem that cites the claim, and the result of
  ``python -m hadamrnn_theory verify --quick``. That command starts in the background when the build
  starts and is waited for when the table is written, so it runs while Sphinx reads the pages;
* every claim must be cited by at least one theorem of ``docs/theory/``, and every theorem must
  carry a ``:label:`` and cite a claim or a test: the build warns otherwise.

It also generates what would otherwise drift from the code:

* the STE figure of the quantization guide, drawn at build time with the library's own quantizers
  and autograd, into ``docs/_generated/`` (which ignores itself in git);
* ``{config-schema}``: the table of every config key, from the pydantic schema;
* ``{cli-help} COMMAND``: the ``--help`` text of a ``hadamrnn`` command, from its parser;
* ``{public-api}``: the names of ``hadamrnn.__all__``, linked to their documentation.

Finally, a toctree entry ``name?`` of the root page names a page written separately that may not
exist yet (it is dropped when ``docs/name.md`` is missing), and a Python reference that Sphinx
cannot resolve, such as a bare ``ConfigError`` in a docstring, is linked to the one documented
object of that name.

``HADAMRNN_DOCS_VERIFY_JSON=PATH`` reuses the verification results in PATH when the file exists,
and writes them there otherwise (the docs test reads them back; a second build can reuse them).
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
GENERATED = DOCS / "_generated"
THEORY_DIR = "theory"
THEOREM_KINDS = ("theorem", "lemma", "proposition", "corollary")
VERIFY_COMMAND = ("-m", "hadamrnn_theory", "verify", "--quick")
VERIFY_JSON_ENV = "HADAMRNN_DOCS_VERIFY_JSON"
VERIFICATION_DOC = "theory/verification"
CLAIM_XREF = "hadamrnn-claim"
PENDING = "(result pending)"
"""Placeholder of the result cells until the verification run has finished."""

_FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{prf:(?P<kind>[a-z]+)\}[ \t]*(?P<title>.*)$")
_LABEL = re.compile(r"^:label:[ \t]*(?P<label>\S+)[ \t]*$")
_CLAIM_ROLE = re.compile(r"\{claim\}`([^`]+)`")
_CHECK_ROLE = re.compile(r"\{check\}`([^`]+)`")


# --- names ------------------------------------------------------------------------------------


def slug(claim_id: str) -> str:
    """``binary_orthogonal.scaled_hadamard`` → ``binary-orthogonal-scaled-hadamard``."""
    return re.sub(r"[^a-z0-9]+", "-", claim_id.lower()).strip("-")


def claim_anchor(claim_id: str) -> str:
    """The HTML id of the claim's row in the verification table."""
    return f"claim-{slug(claim_id)}"


def theorem_label(claim_id: str) -> str:
    """The label of the theorem that a claim is primarily about: ``thm-`` + the slug."""
    return f"thm-{slug(claim_id)}"


def claim_registry() -> dict[str, Any]:
    """The claims of ``python -m hadamrnn_theory verify``, by id, in registry order."""
    from hadamrnn_theory.claims import CLAIMS

    return {claim.id: claim for claim in CLAIMS}


# --- the theorems of the theory chapter, read from the Markdown sources ------------------------


@dataclass
class TheoremBlock:
    """One ``{prf:theorem}`` (or lemma, proposition, corollary) block of a theory page."""

    docname: str
    kind: str
    title: str
    line: int
    label: str | None = None
    claims: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)


def parse_theorem_blocks(text: str, docname: str) -> list[TheoremBlock]:
    """The theorem-like blocks of one MyST page, with their label and the claims and tests they cite.

    A block opens with a fence line such as ```` ```{prf:theorem} Title ```` and closes with the same
    fence alone on a line. Other ``prf`` blocks (proofs, definitions, remarks) are skipped.
    """
    blocks: list[TheoremBlock] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index].strip())
        if not match:
            index += 1
            continue
        fence, kind = match["fence"], match["kind"]
        end = index + 1
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        body = lines[index + 1 : end]
        if kind in THEOREM_KINDS:
            block = TheoremBlock(docname, kind, match["title"].strip(), index + 1)
            for line in body:
                label = _LABEL.match(line.strip())
                if label:
                    block.label = label["label"]
            joined = "\n".join(body)
            block.claims = _CLAIM_ROLE.findall(joined)
            block.checks = _CHECK_ROLE.findall(joined)
            blocks.append(block)
        index = end + 1
    return blocks


def collect_theorems(srcdir: Path = DOCS) -> list[TheoremBlock]:
    """Every theorem-like block of ``docs/theory/*.md``, page by page in file order."""
    blocks: list[TheoremBlock] = []
    for path in sorted((srcdir / THEORY_DIR).glob("*.md")):
        docname = f"{THEORY_DIR}/{path.stem}"
        blocks.extend(parse_theorem_blocks(path.read_text(encoding="utf-8"), docname))
    return blocks


def citations(blocks: list[TheoremBlock]) -> dict[str, list[TheoremBlock]]:
    """claim id → the theorems that cite it (in page order)."""
    cited: dict[str, list[TheoremBlock]] = {}
    for block in blocks:
        for claim_id in dict.fromkeys(block.claims):
            cited.setdefault(claim_id, []).append(block)
    return cited


def check_exists(reference: str, root: Path = ROOT) -> str | None:
    """None if the pytest node id ``path::name[::name]`` names a test in this checkout, else why not."""
    path_text, _, rest = reference.partition("::")
    path = root / path_text
    if not path.is_file():
        return f"no file {path_text}"
    if not rest:
        return None
    tree: ast.AST = ast.parse(path.read_text(encoding="utf-8"))
    for name in rest.split("::"):
        name = name.split("[")[0]
        found = next(
            (
                node
                for node in ast.iter_child_nodes(tree)
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and node.name == name
            ),
            None,
        )
        if found is None:
            return f"{path_text} defines no {name!r} there"
        tree = found
    return None


# --- roles ---------------------------------------------------------------------------------------


def breakable_identifier(text: str, classes: list[str]) -> nodes.literal:
    """``text`` as inline code that may wrap after a ``.``, ``_``, ``/`` or ``::``, never inside a word.

    The HTML gets ``<wbr>`` break opportunities, which copying the text leaves out (a zero-width
    space would be copied with it).
    """
    literal = nodes.literal(text, "", classes=classes)
    for piece in re.split(r"(?<=[._/:])(?=[^:])", text):
        if len(literal.children):
            literal += nodes.raw("", "<wbr>", format="html")
        literal += nodes.Text(piece)
    return literal


_SUPERSCRIPTS = str.maketrans("0123456789jkmn", "⁰¹²³⁴⁵⁶⁷⁸⁹ʲᵏᵐⁿ")


def superscripts(text: str) -> str:
    """``2^k`` as ``2ᵏ``: the ranges of theory/claims.py are plain text, read in a table cell."""
    return re.sub(r"\^([0-9jkmn])\b", lambda match: match.group(1).translate(_SUPERSCRIPTS), text)


_INLINE_MARKUP = re.compile(r"\$([^$]+)\$|`([^`]+)`")


def rich_statement(text: str) -> list[nodes.Node]:
    """A statement of :mod:`theory.statements` as nodes: ``$…$`` becomes math, backquotes code."""
    result: list[nodes.Node] = []
    position = 0
    for match in _INLINE_MARKUP.finditer(text):
        if match.start() > position:
            result.append(nodes.Text(text[position : match.start()]))
        if match.group(1) is not None:
            result.append(nodes.math(match.group(1), match.group(1)))
        else:
            result.append(nodes.literal(match.group(2), match.group(2)))
        position = match.end()
    if position < len(text):
        result.append(nodes.Text(text[position:]))
    return result


def claim_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{claim}`id```: the claim id, linked to its row of the verification table."""
    claim_id = text.strip()
    literal = breakable_identifier(claim_id, ["claim-id"])
    reference = addnodes.pending_xref(
        rawtext, literal, refdomain="", reftype=CLAIM_XREF, reftarget=claim_id, refexplicit=True
    )
    messages = []
    if claim_id not in claim_registry():
        messages.append(
            inliner.reporter.warning(
                f"unknown claim id {claim_id!r}: it is not in theory.claims.CLAIMS", line=lineno
            )
        )
    return [reference], messages


def check_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{check}`tests/test_x.py::test_y```: a pytest test, which must exist."""
    reference = text.strip()
    messages = []
    problem = check_exists(reference)
    if problem:
        messages.append(
            inliner.reporter.warning(f"the test {reference!r} does not exist: {problem}", line=lineno)
        )
    return [breakable_identifier(reference, ["check-id"])], messages


# --- the verification table ------------------------------------------------------------------------


class VerificationRun:
    """``python -m hadamrnn_theory verify --quick --json PATH``, started once per build."""

    current: "VerificationRun | None" = None
    """The run of the build in progress (set when the builder is initialised)."""

    def __init__(self, json_path: Path, log_path: Path, reuse: bool):
        self.json_path = json_path
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.results: dict[str, Any] | None = None
        if reuse and json_path.is_file():
            return
        json_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        if json_path.exists():
            json_path.unlink()
        command = [sys.executable, *VERIFY_COMMAND, "--json", str(json_path)]
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    def wait(self) -> dict[str, Any] | None:
        """The JSON results, or None (with a warning) if the command wrote none."""
        if self.results is not None:
            return self.results
        status = self.process.wait() if self.process is not None else 0
        if not self.json_path.is_file():
            tail = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.is_file() else ""
            logger.warning(
                "`python -m hadamrnn_theory verify --quick` wrote no results (exit status %s):\n%s", status, tail
            )
            return None
        self.results = json.loads(self.json_path.read_text(encoding="utf-8"))
        if self.results.get("failed"):
            failed = [c["id"] for c in self.results["claims"] if c["result"] == "FAIL"]
            logger.warning("`python -m hadamrnn_theory verify --quick` FAILED for: %s", ", ".join(failed))
        return self.results


def _paragraph(*children: nodes.Node) -> nodes.paragraph:
    paragraph = nodes.paragraph()
    paragraph.extend(children)
    return paragraph


def _table(columns: list[tuple[str, int]], classes: list[str]) -> tuple[nodes.table, nodes.tbody]:
    """An empty table with a header row of ``(title, width)`` columns; returns it and its body."""
    table = nodes.table(classes=classes)
    group = nodes.tgroup(cols=len(columns))
    table.append(group)
    for _, width in columns:
        group.append(nodes.colspec(colwidth=width))
    head = nodes.thead()
    head.append(_row([[nodes.Text(title)] for title, _ in columns]))
    group.append(head)
    body = nodes.tbody()
    group.append(body)
    return table, body


def _row(cells: list[list[nodes.Node]]) -> nodes.row:
    row = nodes.row()
    for children in cells:
        entry = nodes.entry()
        entry.append(_paragraph(*children))
        row.append(entry)
    return row


class VerificationTable(SphinxDirective):
    """``{verification-table}``: one row per claim of :data:`theory.claims.CLAIMS`.

    The claim, theorem, statement, method and range columns are written when the page is read; the
    result column and the summary line are filled in by :class:`FillVerificationResults` when the
    page is written, once ``python -m hadamrnn_theory verify --quick`` has finished.
    """

    has_content = False
    option_spec = {"class": directives.class_option}

    def run(self) -> list[nodes.Node]:
        self.env.note_dependency(str(ROOT / "theory" / "claims.py"))
        registry = claim_registry()
        cited = citations(collect_theorems(Path(self.env.srcdir)))
        columns = [("claim and theorem", 24), ("statement", 44), ("method and range", 16), ("result", 16)]
        table, body = _table(columns, ["verification-table", *self.options.get("class", [])])
        for claim_id, claim in registry.items():
            anchor = claim_anchor(claim_id)
            target = nodes.target("", "", ids=[anchor], names=[anchor])
            self.state.document.note_explicit_target(target)
            theorems: list[nodes.Node] = []
            for number, block in enumerate(cited.get(claim_id, [])):
                theorems.append(nodes.Text(", " if number else ""))
                theorems.append(
                    addnodes.pending_xref(
                        "",
                        nodes.inline(block.label, block.label),
                        refdomain="prf",
                        reftype="ref",
                        reftarget=block.label,
                        refdoc=self.env.docname,
                        refexplicit=False,
                        refwarn=True,
                    )
                )
            result = nodes.inline("", PENDING, classes=["claim-result-pending"], claim_id=claim_id)
            claim_cell = nodes.entry()
            claim_cell += _paragraph(target, breakable_identifier(claim_id, ["claim-id"]))
            claim_cell += _paragraph(*(theorems or [nodes.emphasis("", "cited by no theorem")]))
            method_cell = nodes.entry()
            method_cell += _paragraph(nodes.Text(claim.method))
            method_cell += _paragraph(nodes.Text(superscripts(claim.scope_for(claim.quick))))
            row = nodes.row()
            row += claim_cell
            from theory.statements import STATEMENTS_TEX

            statement = STATEMENTS_TEX.get(claim_id)
            row += _row([rich_statement(statement) if statement else [nodes.Text(claim.statement)]])[0]
            row += method_cell
            row += _row([[result]])[0]
            body.append(row)
        summary = nodes.paragraph(
            "", "", nodes.inline("", PENDING, classes=["verification-summary-pending"]), classes=["verification-summary"]
        )
        return [summary, table]


class FillVerificationResults(SphinxPostTransform):
    """Write the results of ``python -m hadamrnn_theory verify --quick`` into the verification table."""

    default_priority = 5

    def run(self, **kwargs: Any) -> None:
        pending = [n for n in self.document.findall(nodes.inline) if "claim-result-pending" in n["classes"]]
        summaries = [
            n for n in self.document.findall(nodes.inline) if "verification-summary-pending" in n["classes"]
        ]
        if not pending and not summaries:
            return
        run = VerificationRun.current
        results = run.wait() if run is not None else None
        by_id = {c["id"]: c for c in results["claims"]} if results else {}
        for node in pending + summaries:
            node["classes"] = []
        for node in pending:
            claim = by_id.get(node["claim_id"])
            if claim is None:
                replacement = nodes.strong("", "NOT RUN", classes=["claim-result", "claim-not-run"])
                node.replace_self(replacement)
                continue
            status = claim["result"]
            children: list[nodes.Node] = [
                nodes.strong("", status, classes=["claim-result", f"claim-{status.lower()}"])
            ]
            if claim.get("detail"):
                children += [nodes.Text(" "), nodes.inline("", f"({claim['detail']})", classes=["claim-detail"])]
            node.replace_self(nodes.inline("", "", *children))
        for node in summaries:
            command = nodes.literal("", "python -m hadamrnn_theory verify --quick")
            if results is None:
                node.replace_self(nodes.inline("", "", command, nodes.Text(" produced no results in this build.")))
                continue
            seconds = sum(c["time_ms"] for c in results["claims"]) / 1000
            text = (
                f", run by this build of the documentation: {len(results['claims'])} claims, "
                f"{results['passed']} passed, {results['failed']} failed, {results['skipped']} skipped, "
                f"in {seconds:.1f} s of checking."
            )
            node.replace_self(nodes.inline("", "", nodes.Text("Results of "), command, nodes.Text(text)))


# --- generated reference: the config schema and the command-line help ------------------------------


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    text = text or str(annotation).replace("typing.", "")
    return text.replace("NoneType", "None")


def _constraints(field_info: Any) -> str:
    words = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
    parts = []
    for item in field_info.metadata:
        for name, symbol in words.items():
            value = getattr(item, name, None)
            if value is not None:
                parts.append(f"{symbol} {value}")
    return ", ".join(parts)


class ConfigSchema(SphinxDirective):
    """``{config-schema}``: every key of :class:`hadamrnn.config.RunConfig`, from the schema itself."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from pydantic import BaseModel

        from hadamrnn import config as config_module

        self.env.note_dependency(config_module.__file__)
        rows: list[list[list[nodes.Node]]] = []

        def walk(model: type, prefix: str) -> None:
            for name, info in model.model_fields.items():
                annotation = info.annotation
                if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                    walk(annotation, f"{prefix}{name}.")
                    continue
                default = "required" if info.is_required() else repr(info.default)
                rows.append(
                    [
                        [nodes.literal("", f"{prefix}{name}")],
                        [nodes.Text(_type_name(annotation))],
                        [nodes.literal("", default)],
                        [nodes.Text(_constraints(info))],
                        [nodes.Text(info.description or "")],
                    ]
                )

        walk(config_module.RunConfig, "")
        columns = [("key", 18), ("type", 18), ("default", 10), ("allowed", 10), ("meaning", 44)]
        table, body = _table(columns, ["config-schema"])
        body.extend(_row(cells) for cells in rows)
        return [table]


class PublicApi(SphinxDirective):
    """``{public-api}``: the names of ``hadamrnn.__all__``, each linked to its documentation."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        import hadamrnn

        self.env.note_dependency(hadamrnn.__file__)
        by_module: dict[str, list[str]] = {}
        for name in hadamrnn.__all__:
            if name == "__version__":
                continue
            by_module.setdefault(hadamrnn._SOURCE[name], []).append(name)
        bullets = nodes.bullet_list()
        for module, names in by_module.items():
            paragraph = nodes.paragraph()
            paragraph += addnodes.pending_xref(
                "", nodes.literal("", f"hadamrnn.{module}"), refdomain="py", reftype="mod",
                reftarget=f"hadamrnn.{module}", refexplicit=True, refwarn=True,
            )
            paragraph += nodes.Text(": ")
            for index, name in enumerate(names):
                if index:
                    paragraph += nodes.Text(", ")
                paragraph += addnodes.pending_xref(
                    "", nodes.literal("", name), refdomain="py", reftype="obj",
                    reftarget=f"hadamrnn.{module}.{name}", refexplicit=True, refwarn=True,
                )
            bullets += nodes.list_item("", paragraph)
        return [bullets]


class CommandHelp(SphinxDirective):
    """``{cli-help} train``: the ``--help`` text of a ``hadamrnn`` subcommand, from its parser."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        import argparse

        from hadamrnn import cli

        self.env.note_dependency(cli.__file__)
        parser = cli.build_parser()
        name = self.arguments[0]
        commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        if name not in commands.choices:
            logger.warning(
                "hadamrnn has no command %r (it has: %s)", name, ", ".join(commands.choices), location=self.get_location()
            )
            return []
        previous = os.environ.get("COLUMNS")
        os.environ["COLUMNS"] = "88"
        try:
            text = commands.choices[name].format_help()
        finally:
            if previous is None:
                os.environ.pop("COLUMNS", None)
            else:
                os.environ["COLUMNS"] = previous
        block = nodes.literal_block(text, text, language="text")
        return [block]


# --- build-time events ------------------------------------------------------------------------------


def start_verification(app: Sphinx) -> None:
    """Start ``python -m hadamrnn_theory verify --quick`` and check the theorem ↔ claim citations."""
    configured = os.environ.get(VERIFY_JSON_ENV)
    if configured:
        json_path, reuse = Path(configured), True
    else:
        json_path, reuse = Path(app.doctreedir) / "theory-verify" / "verify.json", False
    VerificationRun.current = VerificationRun(json_path, json_path.with_suffix(".log"), reuse)
    check_citations(Path(app.srcdir))


def check_citations(srcdir: Path) -> None:
    """Warn for a theorem without label or citation, a duplicate label, or a claim no theorem cites."""
    registry = claim_registry()
    blocks = collect_theorems(srcdir)
    labels: dict[str, TheoremBlock] = {}
    for block in blocks:
        where = f"{srcdir / block.docname}.md:{block.line}"
        if not block.label:
            logger.warning("%s: a %s without a :label:", where, block.kind)
        elif block.label in labels:
            logger.warning("%s: duplicate theorem label %r", where, block.label)
        else:
            labels[block.label] = block
        if not block.claims and not block.checks:
            logger.warning("%s: %s %r cites no claim ({claim}) and no test ({check})", where, block.kind, block.label)
    uncited = [claim_id for claim_id in registry if claim_id not in citations(blocks)]
    if uncited:
        logger.warning("claims of python -m hadamrnn_theory verify that no theorem cites: %s", ", ".join(uncited))


def always_reread(app: Sphinx, env, added, changed, removed) -> list[str]:
    """The verification page shows this build's results, and the root toctree depends on which
    optional pages exist, so both are read (and written) every time."""
    return [docname for docname in env.found_docs if docname in (f"{THEORY_DIR}/verification", "index")]


OPTIONAL_PAGE_LINE = re.compile(r"^(?P<name>[\w/-]+)\?[ \t]*$", re.MULTILINE)


def resolve_optional_pages(app: Sphinx, docname: str, source: list[str]) -> None:
    """In a toctree of the root page, an entry ``name?`` stands for a page written separately that
    may not exist yet: it becomes ``name`` when ``docs/name.md`` exists and is dropped otherwise."""
    if docname != "index":
        return

    def replace(match: re.Match) -> str:
        name = match["name"]
        return name if (Path(app.srcdir) / f"{name}.md").is_file() else ""

    source[0] = OPTIONAL_PAGE_LINE.sub(replace, source[0])


def draw_ste_figure(app: Sphinx) -> None:
    """``docs/_generated/ste.png``: forward maps and pseudo-gradients of the library's quantizers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from hadamrnn.quantizers import ste_sign, uniform_quantize

    def forward_and_gradient(function, x):
        x = x.clone().requires_grad_(True)
        y = function(x)
        y.sum().backward()
        return y.detach().numpy(), x.grad.numpy()

    GENERATED.mkdir(exist_ok=True)
    (GENERATED / ".gitignore").write_text("*\n", encoding="utf-8")
    x = torch.linspace(-2, 2, 4001, dtype=torch.float64)
    w = torch.linspace(-1, 1, 4001, dtype=torch.float64)  # max |w| = 1, so alpha = 1
    figure, axes = plt.subplots(2, 2, figsize=(9, 6.2), sharex="col")
    sign_y, sign_g = forward_and_gradient(lambda t: ste_sign(t), x)
    _, sign_g_clip = forward_and_gradient(lambda t: ste_sign(t, clip=1.0), x)
    axes[0, 0].plot(x, sign_y, color="C0", lw=2, label="ste_sign(x)")
    axes[0, 0].plot(x, x, color="0.6", lw=1, ls=":", label="identity")
    axes[0, 0].plot([0], [1], "o", color="C0", ms=5)
    axes[0, 0].set_title("sign: forward map q(x) (q(0) = +1)")
    axes[1, 0].plot(x, sign_g, color="C1", lw=2, label="STE: 1")
    axes[1, 0].plot(x, sign_g_clip, color="C2", lw=2, ls="--", label="clip=1: 1{|x| ≤ 1}")
    axes[1, 0].set_title("sign: pseudo-gradient ∂q/∂x")
    axes[1, 0].set_xlabel("x")
    for bits, color in ((2, "C0"), (4, "C3")):
        q, _ = forward_and_gradient(lambda t, b=bits: uniform_quantize(t, b), w)
        axes[0, 1].plot(w, q, color=color, lw=1.6, label=f"q_{bits}(w), {2**bits} levels")
    axes[0, 1].plot(w, w, color="0.6", lw=1, ls=":", label="identity")
    axes[0, 1].set_title("uniform quantizer: forward map (α = max|w| = 1)")
    _, g = forward_and_gradient(lambda t: uniform_quantize(t, 4), w)
    _, g_clip = forward_and_gradient(lambda t: uniform_quantize(t, 4, clip=0.75), w)
    axes[1, 1].plot(w, g, color="C1", lw=2, label="STE: 1")
    axes[1, 1].plot(w, g_clip, color="C2", lw=2, ls="--", label="clip=0.75: 1{|w| ≤ 0.75}")
    axes[1, 1].set_title("uniform quantizer: pseudo-gradient ∂q/∂w")
    axes[1, 1].set_xlabel("w")
    for axis in axes.flat:
        axis.grid(True, color="0.9")
        axis.legend(loc="upper left", fontsize=8)
    for axis in axes[1]:
        axis.set_ylim(-0.15, 1.35)
    figure.tight_layout()
    with tempfile.NamedTemporaryFile(dir=GENERATED, suffix=".png", delete=False) as handle:
        temporary = Path(handle.name)
    figure.savefig(temporary, dpi=110, metadata={"Software": None})
    plt.close(figure)
    temporary.chmod(0o644)  # NamedTemporaryFile creates it private
    os.replace(temporary, GENERATED / "ste.png")


def resolve_claim(app: Sphinx, env, node, contnode):
    """Link ``{claim}`` references to the claim's row of the verification table, keeping the
    code formatting of the id."""
    if node.get("reftype") != CLAIM_XREF:
        return None
    from sphinx.util.nodes import make_refnode

    if VERIFICATION_DOC not in env.found_docs:
        logger.warning("no %s page to link claim %r to", VERIFICATION_DOC, node["reftarget"], location=node)
        return contnode
    return make_refnode(
        app.builder, node["refdoc"], VERIFICATION_DOC, claim_anchor(node["reftarget"]), contnode,
        f"claim {node['reftarget']} in the verification table",
    )


def resolve_unique_python_name(app: Sphinx, env, node, contnode):
    """Resolve a Python reference that Sphinx could not, such as a bare ``ConfigError`` or the
    re-exported ``hadamrnn.model_size``, to the one documented object with that last name."""
    if node.get("refdomain") != "py":
        return None
    name = node["reftarget"].split(".")[-1]
    domain = env.get_domain("py")
    matches = [full for full in domain.objects if full.rsplit(".", 1)[-1] == name]
    if len(matches) != 1 or not node["reftarget"].startswith(("hadamrnn", name)):
        return None
    from sphinx.util.nodes import make_refnode

    entry = domain.objects[matches[0]]
    return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, matches[0])


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_role("claim", claim_role)
    app.add_role("check", check_role)
    app.add_directive("verification-table", VerificationTable)
    app.add_directive("config-schema", ConfigSchema)
    app.add_directive("cli-help", CommandHelp)
    app.add_directive("public-api", PublicApi)
    app.add_post_transform(FillVerificationResults)
    app.connect("builder-inited", start_verification)
    app.connect("builder-inited", draw_ste_figure)
    app.connect("env-get-outdated", always_reread)
    app.connect("source-read", resolve_optional_pages)
    app.connect("missing-reference", resolve_claim)
    app.connect("missing-reference", resolve_unique_python_name)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": False}
