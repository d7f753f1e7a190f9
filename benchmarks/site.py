"""Publish the committed benchmark history as a site that loads nothing from the network; preview it.

    python -m benchmarks.site publish                  # .asv/html from benchmarks/results
    python -m benchmarks.site preview                  # publish, then serve it on http://127.0.0.1:8080
    python -m benchmarks.site preview --port 8000 --no-publish

asv's page loads jQuery, Flot and its plugins, stupidtable, blueimp-md5 and Bootstrap from CDNs.
``publish`` runs ``asv publish`` (without pulling: the history is what the checkout holds), copies
those files from ``benchmarks/site_assets/`` (committed with their licences; its README.md says
where each comes from) into the site's ``vendor/`` folder, points the page at the copies, and
fails if any page of the site still loads something over the network.

``preview`` serves the site on the loopback address only (127.0.0.1): the page reads its data
with requests to that server, which a page opened as a file cannot make. Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSETS = Path(__file__).resolve().parent / "site_assets"
DEFAULT_HTML = ROOT / ".asv" / "html"  # html_dir of asv.conf.json
VENDOR = "vendor"

#: What asv's index.html loads from the network, and the copy in site_assets/ that replaces it.
#: The same release wherever npm has it; the npm package of Flot 0.8.3 has no minified files (the
#: unminified ones of that release stand in), and stupidtable is 1.1.3, npm's only release.
VENDORED = {
    "https://code.jquery.com/jquery-3.3.1.min.js": "jquery/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.min.js": "flot/jquery.flot.js",
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.time.min.js": "flot/jquery.flot.time.js",
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.selection.min.js": "flot/jquery.flot.selection.js",
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.categories.min.js": "flot/jquery.flot.categories.js",
    "https://cdn.jsdelivr.net/npm/flot-orderbars@1.0.0/js/jquery.flot.orderBars.js": "flot-orderbars/jquery.flot.orderBars.js",
    "https://cdnjs.cloudflare.com/ajax/libs/stupidtable/1.0.1/stupidtable.min.js": "stupidtable/stupidtable.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/blueimp-md5/2.19.0/js/md5.min.js": "blueimp-md5/md5.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/js/bootstrap.min.js": "bootstrap/js/bootstrap.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/css/bootstrap.min.css": "bootstrap/css/bootstrap.min.css",
}

#: A tag that makes the browser fetch a resource, and the attribute naming it. ``<a href>`` is a
#: link the reader may follow, not a load.
_LOADING_TAG = re.compile(r"<(script|link|img|iframe|source|embed|object)\b[^>]*>", re.I | re.S)
_RESOURCE_ATTRIBUTE = re.compile(r"""\b(?:src|href|data)\s*=\s*["']([^"']*)["']""", re.I)
_CSS_REFERENCE = re.compile(r"""url\(\s*["']?([^"')]*)|@import\s+["']([^"']*)""", re.I)
#: The attributes of a CDN tag that a local copy must lose: a page opened from a local server or
#: a file loads a ``crossorigin`` or ``integrity`` script only through CORS, which neither offers.
_CDN_ATTRIBUTES = re.compile(r"""\s+(?:integrity|crossorigin|referrerpolicy)\s*=\s*["'][^"']*["']""", re.I)


def is_remote(reference: str) -> bool:
    return bool(re.match(r"\s*(?:[a-z][a-z0-9+.-]*:)?//", reference, re.I))


def external_resources(html_dir: Path) -> list[str]:
    """``file: reference`` for every resource that a page or stylesheet of the site would load
    from the network (an absolute or protocol-relative URL)."""
    found = []
    for path in sorted(html_dir.rglob("*")):
        if path.suffix in (".html", ".htm"):
            text = path.read_text(encoding="utf-8", errors="replace")
            references = [match for tag in _LOADING_TAG.finditer(text) for match in _RESOURCE_ATTRIBUTE.findall(tag.group(0))]
        elif path.suffix == ".css":
            text = path.read_text(encoding="utf-8", errors="replace")
            references = [url or imported for url, imported in _CSS_REFERENCE.findall(text)]
        else:
            continue
        found += [f"{path.relative_to(html_dir)}: {reference}" for reference in references if is_remote(reference)]
    return found


def localise(page: str) -> str:
    """``page`` with each :data:`VENDORED` URL replaced by its copy under ``vendor/``."""

    def replace(tag: re.Match) -> str:
        text = tag.group(0)
        for url, local in VENDORED.items():
            if url in text:
                return _CDN_ATTRIBUTES.sub("", text.replace(url, f"{VENDOR}/{local}"))
        return text

    return _LOADING_TAG.sub(replace, page)


def publish(html_dir: Path) -> None:
    """``asv publish`` into ``html_dir``, then the vendored files in and the CDN references out."""
    subprocess.run([sys.executable, "-m", "asv", "publish", "--no-pull", "--html-dir", str(html_dir)], cwd=ROOT, check=True)
    target = html_dir / VENDOR
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(ASSETS, target)
    for page in html_dir.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        localised = localise(text)
        if localised != text:
            page.write_text(localised, encoding="utf-8")
    remote = external_resources(html_dir)
    if remote:
        raise SystemExit(
            "the published site still loads from the network (a newer asv?): "
            + "; ".join(remote) + f". Add each to VENDORED in {Path(__file__).name}, its file to {ASSETS.name}/."
        )
    print(f"site: {html_dir} (loads nothing from the network)", flush=True)


def serve(html_dir: Path, port: int) -> None:
    """Serve ``html_dir`` on http://127.0.0.1:``port`` until interrupted."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(html_dir))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        print(f"serving {html_dir} on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.site", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["publish", "preview"])
    parser.add_argument("--html-dir", type=Path, default=DEFAULT_HTML, help=f"where the site goes (default {DEFAULT_HTML.relative_to(ROOT)})")
    parser.add_argument("--port", type=int, default=8080, help="preview: the port on 127.0.0.1 (default 8080)")
    parser.add_argument("--no-publish", action="store_true", help="preview: serve the site as last published")
    args = parser.parse_args(argv)
    html_dir = args.html_dir.resolve()
    if args.command == "publish" or not args.no_publish:
        publish(html_dir)
    if args.command == "preview":
        if not (html_dir / "index.html").exists():
            parser.error(f"no site in {html_dir}: run python -m benchmarks.site publish first")
        serve(html_dir, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
