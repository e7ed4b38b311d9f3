"""A real headless Chromium for tests (Debian's chromium and chromium-driver, driven by selenium).

`make system-deps` installs both where it runs as root; the `chromium` fixture skips only where
they are missing and cannot be installed (not root, or no apt-get). The session's one Chromium is the
`chromium` fixture of tests/conftest.py: ask for it by name, and use the helpers below.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",  # root in a container: Chromium's own sandbox needs user namespaces
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # a page may name a CDN: no name resolves but the loopback ones (an IP literal goes through these
    # rules too: without its EXCLUDE, Chromium refuses http://127.0.0.1)
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
)
LOAD_TIMEOUT = 30.0  # seconds, for a page and for its images to finish loading
PROBE = "data-nb74-font-probe"


def missing_reason() -> str | None:
    """Why Chromium cannot be used here, or None."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return None
    can_install = os.geteuid() == 0 and shutil.which("apt-get") is not None
    if can_install:  # a machine that could have it must not pass by skipping: say how to get it
        pytest.fail(f"{CHROMIUM} or {CHROMEDRIVER} missing: run `make system-deps` (as root it installs them)")
    return f"{CHROMIUM} / {CHROMEDRIVER} not installed, and installing them needs root and apt-get (make system-deps)"


@contextmanager
def start_chromium(profile: Path) -> Iterator[object]:
    """A headless Chromium WebDriver with a fresh profile in `profile` (skips where it cannot run).
    Tests take the session's one through the `chromium` fixture (tests/conftest.py)."""
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(LOAD_TIMEOUT)
    try:
        yield driver
    finally:
        driver.quit()


def open_file(driver, path: Path | str) -> None:
    """Load a local file and wait until the document and every <img> have finished loading."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(Path(path).resolve().as_uri())
    WebDriverWait(driver, LOAD_TIMEOUT).until(
        lambda d: d.execute_script(
            "return document.readyState === 'complete' && Array.from(document.images).every(i => i.complete)"
        )
    )


def images_loaded(driver) -> list[tuple[str, int]]:
    """(the first 30 characters of src, naturalWidth) of every <img>; a broken image has width 0."""
    return [
        (src, int(width))
        for src, width in driver.execute_script(
            "return Array.from(document.images).map(i => [i.src.slice(0, 30), i.naturalWidth])"
        )
    ]


def screenshot(driver, path: Path | str) -> Path:
    """A PNG of the whole page: the viewport is first made as tall as the document."""
    width, height = driver.execute_script(
        "const e = document.documentElement; return [Math.max(e.scrollWidth, 800), e.scrollHeight]"
    )
    # the window's size includes the browser's frame: add what the viewport lacks
    chrome_w, chrome_h = driver.execute_script(
        "return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight]"
    )
    driver.set_window_size(width + chrome_w, height + chrome_h)
    driver.save_screenshot(str(path))
    return Path(path)


def fonts_for_text(driver, text: str) -> list[str]:
    """Family names of the fonts Chromium used to draw the innermost element containing text.

    CDP's CSS.getPlatformFontsForNode reports the fonts actually used for the glyphs (the fallback
    included), not the CSS font-family list.
    """
    found = driver.execute_script(
        "const hits = Array.from(document.querySelectorAll('body *'))"
        "  .filter(e => e.textContent.includes(arguments[0]));"
        "if (!hits.length) return false;"
        f"hits[hits.length - 1].setAttribute('{PROBE}', ''); return true;",
        text,
    )
    if not found:
        raise AssertionError(f"no element contains {text!r}")
    driver.execute_cdp_cmd("DOM.enable", {})
    driver.execute_cdp_cmd("CSS.enable", {})
    root = driver.execute_cdp_cmd("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = driver.execute_cdp_cmd("DOM.querySelector", {"nodeId": root, "selector": f"[{PROBE}]"})["nodeId"]
    fonts = driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    driver.execute_script(f"document.querySelector('[{PROBE}]').removeAttribute('{PROBE}')")
    return [str(f["familyName"]) for f in fonts]


def font_files(family: str) -> list[Path]:
    """The files fontconfig has for a family name (what Chromium on Linux draws with)."""
    if shutil.which("fc-list") is None:
        return []
    out = subprocess.run(["fc-list", f":family={family}", "file"], capture_output=True, text=True, check=False)
    return [Path(line.rstrip(": ").strip()) for line in out.stdout.splitlines() if line.strip()]


def uncovered(families: list[str], text: str) -> set[str]:
    """Non-ASCII characters of text that none of the families' font files has a glyph for."""
    from matplotlib.ft2font import FT2Font

    wanted = {ch for ch in text if ord(ch) > 0x7F}
    for family in families:
        for file in font_files(family):
            font = FT2Font(str(file))
            wanted = {ch for ch in wanted if font.get_char_index(ord(ch)) == 0}
    return wanted
