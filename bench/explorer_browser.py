"""The style explorer as a browser draws it: notebooks/explore.ipynb run, saved as HTML, then shown by Chromium.

The tests move the explorer's widgets from Python; what a person sees is the
browser's drawing of them, which only a browser shows (a stretched picture,
say). This runs the notebook in a kernel, keeping the widgets' state in it,
writes it as HTML without the code cells (OUT/explore.html), shows that page
in headless Chromium and saves a screenshot (OUT/explore.png). It then reads
back the page as the browser built it and prints what it drew: the sliders by
name and the pictures; no slider drawn (the widgets' script failed) exits 1.

The HTML needs the widgets' page script, @jupyter-widgets/html-manager from
npm (nbconvert's page would fetch it from a CDN): fetched once with `npm pack`
into ~/.cache/artgan/ and copied beside the HTML, so the page works
offline. Needs nbconvert (`pip install nbconvert`), npm once, and Chromium
(Debian: `apt-get install chromium`); without Chromium or the script it writes
what it can, says what is missing and exits 2.

  python bench/explorer_browser.py                      # the shipped generator -> explorer/explore.{html,png}
  python bench/explorer_browser.py --checkpoint runs/RUN/checkpoints/generator_epoch_010.h5 --seed 7 --out e/
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from base.rundir import DEFAULT_CACHE

ROOT = Path(__file__).resolve().parents[1]
PRETRAINED = ROOT / "pretrained" / "wikiart-dcgan-64px.h5"
HTML_MANAGER = "@jupyter-widgets/html-manager@^1"  # the page script for ipywidgets 8's state
CACHE = DEFAULT_CACHE  # beside the decoded images and the judges
WIDGET_JS = CACHE / "html-manager-embed.js"  # its dist/embed.js: the widgets drawn on load, no require.js
CHROMIUMS = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]
WINDOW = (1000, 840)  # the explorer of 8 styles at 64 px, its status line included


def chromium() -> str | None:
    return next((path for name in CHROMIUMS if (path := shutil.which(name))), None)


def fetch_widget_js() -> Path:
    """The html-manager's embed.js from the npm registry (``npm pack``: the package alone, no dependencies)."""
    if not shutil.which("npm"):
        raise FileNotFoundError("npm is not installed: it fetches the widgets' page script once")
    with tempfile.TemporaryDirectory() as folder:
        packed = subprocess.run(
            ["npm", "pack", HTML_MANAGER, "--pack-destination", folder, "--silent"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if packed.returncode:
            raise FileNotFoundError(f"npm pack {HTML_MANAGER} failed: {packed.stderr.strip()[-500:]}")
        with tarfile.open(next(Path(folder).glob("*.tgz"))) as archive:
            script = archive.extractfile("package/dist/embed.js").read()
    CACHE.mkdir(parents=True, exist_ok=True)
    WIDGET_JS.write_bytes(script)
    return WIDGET_JS


def execute(checkpoint: Path, seed: int | None = None):
    """The notebook run top to bottom from notebooks/, its widgets' state saved in its metadata."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(ROOT / "notebooks" / "explore.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    cell.source += f"\nCHECKPOINT = {str(Path(checkpoint).resolve())!r}\nSEED = {seed!r}"
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(ROOT / "notebooks")}},
    ).execute()
    return notebook


def write_html(notebook, out: Path) -> Path:
    """The executed notebook as HTML, outputs only, drawn by the page script copied beside it."""
    from nbconvert import HTMLExporter

    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(WIDGET_JS, out / WIDGET_JS.name)
    # No require.js: embed.js is the bundle that needs none (and nothing else on the page loads one).
    exporter = HTMLExporter(exclude_input=True, widget_renderer_url=WIDGET_JS.name, require_js_url="")
    html, _ = exporter.from_notebook_node(notebook)
    page = out / "explore.html"
    page.write_text(html, encoding="utf-8")
    return page


def browser(binary: str, page: Path, *arguments: str) -> subprocess.CompletedProcess:
    """Headless Chromium on the page, given time to load and draw; its own profile folder, thrown away."""
    with tempfile.TemporaryDirectory() as profile:
        command = [binary, "--headless", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={profile}"]
        command += ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium's sandbox refuses root
        command += ["--virtual-time-budget=10000", *arguments, page.resolve().as_uri()]
        return subprocess.run(command, capture_output=True, text=True, timeout=180, check=True)


def screenshot(binary: str, page: Path, png: Path, window=WINDOW) -> Path:
    png.unlink(missing_ok=True)
    browser(binary, page, f"--window-size={window[0]},{window[1]}", f"--screenshot={png.resolve()}")
    if not png.is_file():
        raise RuntimeError(f"Chromium wrote no screenshot to {png}")
    return png


def drawn(binary: str, page: Path) -> dict:
    """What the browser built from the widgets' state: the sliders' labels and the number of pictures."""
    dom = browser(binary, page, "--dump-dom").stdout
    sliders = re.findall(r'<div class="[^"]*widget-hslider[^"]*".*?<label[^>]*>([^<]*)</label>', dom, re.S)
    return {"sliders": sliders, "pictures": len(re.findall(r'<img class="[^"]*widget-image', dom))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(PRETRAINED), help="a generator .h5 (default: pretrained/)")
    parser.add_argument("--seed", type=int, help="the first seed shown (default: the run's)")
    parser.add_argument("--out", default="explorer", help="folder for explore.html and explore.png")
    parser.add_argument("--window", default=f"{WINDOW[0]}x{WINDOW[1]}", help="the screenshot's size, WxH")
    args = parser.parse_args(argv)
    try:
        import nbconvert  # noqa: F401
    except ImportError:
        print("nbconvert is not installed (pip install nbconvert): it writes the notebook as HTML", file=sys.stderr)
        return 2
    if not WIDGET_JS.is_file():
        try:
            print(f"the widgets' page script: {fetch_widget_js()}")
        except FileNotFoundError as error:
            print(f"{error}; without it the page shows no widgets", file=sys.stderr)
            return 2
    out = Path(args.out)
    page = write_html(execute(Path(args.checkpoint), args.seed), out)
    print(f"{page} (with the widgets' state)")
    binary = chromium()
    if binary is None:
        print(
            f"no Chromium ({', '.join(CHROMIUMS)}) on PATH: no screenshot (apt-get install chromium)", file=sys.stderr
        )
        return 2
    width, height = (int(side) for side in args.window.lower().split("x"))
    print(f"{screenshot(binary, page, out / 'explore.png', (width, height))} ({width} x {height})")
    seen = drawn(binary, page)
    print(
        f"the browser drew {len(seen['sliders'])} sliders ({', '.join(seen['sliders'])}), {seen['pictures']} pictures"
    )
    return 0 if seen["sliders"] and seen["pictures"] else 1


if __name__ == "__main__":
    sys.exit(main())
