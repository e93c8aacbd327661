"""The style explorer in a real browser: the notebook's HTML with its widgets' state, as headless Chromium draws it.

Runs where Chromium, nbconvert and the widgets' page script are installed (bench/explorer_browser.py fetches
the script once); elsewhere it skips, saying which is missing.
"""

import base64
import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from bench import explorer_browser

SEED = 2


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    pytest.importorskip("nbconvert", reason="nbconvert is not installed: it writes the notebook as HTML")
    binary = explorer_browser.chromium()
    if binary is None:
        pytest.skip("no Chromium on PATH (Debian: apt-get install chromium)")
    if not explorer_browser.WIDGET_JS.is_file():
        pytest.skip(f"no widgets' page script at {explorer_browser.WIDGET_JS} (bench/explorer_browser.py fetches it)")
    out = tmp_path_factory.mktemp("explorer")
    page = explorer_browser.write_html(explorer_browser.execute(explorer_browser.PRETRAINED, SEED), out)
    png = explorer_browser.screenshot(binary, page, out / "explore.png")
    return page, png, explorer_browser.drawn(binary, page)


def widget_state(page) -> dict:
    html = page.read_text(encoding="utf-8")
    found = re.search(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', html, re.S)
    assert found, "the page carries no widget state"
    return json.loads(found.group(1))["state"]


def picture_in(model) -> np.ndarray:
    data = next(buffer["data"] for buffer in model["buffers"] if buffer["path"] == ["value"])
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")).astype(int)


def place_of(picture, screen):
    """Where the picture sits in the screenshot at its own size, unscaled; None if nowhere."""
    h, w = picture.shape[:2]
    y, x = np.unravel_index(np.abs(picture - 255).sum(-1).argmax(), (h, w))  # its pixel least like the page
    matches = np.argwhere(
        np.abs(screen[y : screen.shape[0] - h + y + 1, x : screen.shape[1] - w + x + 1] - picture[y, x]).max(-1) <= 2
    )
    for top, left in matches:
        if np.abs(screen[top : top + h, left : left + w] - picture).mean() <= 1.0:
            return top, left
    return None


def test_the_page_keeps_one_slider_per_style_and_the_pictures(rendered):
    from sampling.explorer import StyleExplorer

    page, _, _ = rendered
    state = widget_state(page)
    sliders = {
        m["state"]["description"]: m["state"]["value"] for m in state.values() if m["model_name"] == "FloatSliderModel"
    }
    explorer = StyleExplorer.from_checkpoint(explorer_browser.PRETRAINED, seed=SEED)
    assert sliders == {**dict.fromkeys(explorer.class_names, 0.0), explorer.class_names[0]: 1.0, "truncation": 1.0}
    pictures = [picture_in(m) for m in state.values() if m["model_name"] == "ImageModel"]
    assert len(pictures) == 2  # the picture and its neighbours
    want = np.asarray(Image.open(io.BytesIO(explorer.picture.value)).convert("RGB")).astype(int)
    assert any(p.shape == want.shape == (256, 256, 3) and np.abs(p - want).max() <= 1 for p in pictures)
    html = page.read_text(encoding="utf-8")
    assert "widgetRendererSrc = 'html-manager-embed.js'" in html  # the copy beside it, not a CDN


def test_chromium_draws_the_sliders_and_the_picture_unscaled(rendered):
    page, png, drawn = rendered
    state = widget_state(page)
    names = [m["state"]["description"] for m in state.values() if m["model_name"] == "FloatSliderModel"]
    assert drawn["sliders"] == names and drawn["pictures"] == 2  # as the browser built the page
    screen = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert screen.shape == (explorer_browser.WINDOW[1], explorer_browser.WINDOW[0], 3)
    assert screen.std() > 20  # not a blank page
    picture = next(
        p for p in (picture_in(m) for m in state.values() if m["model_name"] == "ImageModel") if p.shape[0] == 256
    )
    place = place_of(picture, screen)
    assert place is not None, "the picture is not on screen at its own size (stretched, blurred or below the fold)"
    top, left = place
    assert screen[top : top + 256, left : left + 256].std() > 10  # a painting there, not a flat box
