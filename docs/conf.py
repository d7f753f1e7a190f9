"""Sphinx configuration of the hadamrnn documentation.

Build (from the repository root)::

    .venv/bin/sphinx-build -W --keep-going -b html docs docs/_build/html

The build runs ``python -m hadamrnn_theory verify --quick`` (in the background, while Sphinx reads the
pages) and renders its results in the verification table; it draws the STE plots with the
library's own quantizers. Both are done by the local extension ``docs/_ext/hadamrnn_docs.py``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(ROOT))  # ``theory`` and ``hadamrnn`` from this checkout

import hadamrnn  # noqa: E402

project = "hadamrnn"
author = "hadamrnn developers"
copyright = "hadamrnn developers"
release = hadamrnn.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx_proof",
    "sphinx.ext.mathjax",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
    "hadamrnn_docs",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_generated", "theory_notes", "Thumbs.db", ".DS_Store"]
# docs/performance.md and docs/deployment.md are written separately and may be absent: the root
# toctree lists them as "name?" entries (kept only when the file exists, see
# docs/_ext/hadamrnn_docs.py), and the pages that link to them use the substitutions below.
HAS_PAGE = {name: (DOCS / f"{name}.md").is_file() for name in ("performance", "deployment")}

# MyST: $...$ and $$...$$ math, labelled equations, ::: fences and (label)= targets.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "substitution"]
myst_heading_anchors = 3
myst_dmath_double_inline = True
myst_substitutions = {
    "deployment_link": "{doc}`/deployment`" if HAS_PAGE["deployment"] else "the deployment guide (planned)",
    "performance_link": "{doc}`/performance`" if HAS_PAGE["performance"] else "the performance page (planned)",
}

# Theorems: numbered per chapter page ("Theorem 3.2"); the labels are the stable anchors.
numfig = True
numfig_secnum_depth = 1
proof_minimal_theme = False

# MathJax: the default CDN build. For offline reading, HADAMRNN_DOCS_MATHJAX_PATH points at the
# component of a local copy of the npm package mathjax@4 (for example
# file:///…/node_modules/mathjax/tex-mml-chtml.js); its font package @mathjax/mathjax-newcm-font is
# then looked for beside it, in node_modules/@mathjax.
mathjax4_config: dict = {
    # A display equation wider than the text column breaks at its relations and operators instead
    # of running past the column (MathJax 4 breaks display math; version 3 could not).
    "output": {"displayOverflow": "linebreak"},
    "tex": {
        "macros": {
            "diag": r"\operatorname{diag}",
            "sign": r"\operatorname{sign}",
            "popcount": r"\operatorname{popcount}",
            "round": r"\operatorname{round}",
            "clamp": r"\operatorname{clamp}",
            "tr": r"\operatorname{tr}",
            "GF": r"\operatorname{GF}",
        }
    }
}
if os.environ.get("HADAMRNN_DOCS_MATHJAX_PATH"):
    mathjax_path = os.environ["HADAMRNN_DOCS_MATHJAX_PATH"]
    _mathjax_dir = mathjax_path.rsplit("/", 1)[0]
    mathjax4_config["loader"] = {"paths": {"mathjax-newcm": f"{_mathjax_dir}/../@mathjax/mathjax-newcm-font"}}
myst_update_mathjax = False

# autodoc: the package imports its submodules lazily, so the API pages document the submodules.
# Every name of a module's __all__ is documented, with or without a docstring.
autodoc_default_options = {
    "members": True,
    "undoc-members": True,
    "show-inheritance": True,
    "member-order": "bysource",
}
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented"
autodoc_preserve_defaults = True
autodoc_inherit_docstrings = False
autoclass_content = "class"
napoleon_google_docstring = True
napoleon_numpy_docstring = True  # hadamrnn.packing uses the numpy style
napoleon_custom_sections = ["Shapes"]
napoleon_use_rtype = False
napoleon_use_ivar = True  # "Attributes" sections as fields, so dataclass fields are not documented twice

# Every cross-reference must resolve (a broken one fails the build), except references to other
# projects (the build is offline, so there is no intersphinx) and to private base classes. Bare
# names such as ``ConfigError`` resolve to the unique documented object of that name (see the
# local extension).
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(torch|numpy|np|pydantic|safetensors|typing|collections|pathlib|pickle|abc)(\..*)?"),
    (r"py:.*", r"hadamrnn(\.\w+)*\._\w+"),
    # free-form type descriptions of numpy-style docstrings ("numpy.ndarray of uint64, shape
    # (M, ceil(k / 64))"): Sphinx makes a reference of each word
    (r"py:class", r".*[^\w.].*"),
    (r"py:class", r"u?int(8|16|32|64)|float(32|64)|array_like|shape|ceil|[A-Z]"),
    # napoleon reads the first line of the property docstring "Bytes of packed storage: ..." of
    # hadamrnn.packing.PackedBlockTernary.nbytes as a type
    (r"py:class", r"Bytes"),
    # the config schema's private type aliases (hadamrnn.config._Int, _RATE, ...) and pydantic's
    # markers inside their Annotated[...], as autodoc writes the fields' annotations
    (r"py:class", r"_\w+|Strict|AfterValidator"),
]

# ``sphinx-build -b doctest`` runs the docstring examples of the API pages in this namespace (the
# test suite runs them with each module's own globals, see tests/test_docs.py).
doctest_global_setup = """
import torch
import hadamrnn
from hadamrnn import *
from hadamrnn.native import fwht_native
"""

html_theme = "sphinx_book_theme"
html_title = f"hadamrnn {release}"
html_static_path = ["_static"]
html_css_files = ["hadamrnn.css"]
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
}
html_last_updated_fmt = None
html_copy_source = False
