"""Headless Chromium opens the generated leaderboard page from the file system: tables sort, figures load.

Set-up (not done by tests): ``apt-get install -y chromium`` (Debian's package, ``/usr/bin/chromium``) and
``pip install -e '.[browser,report]'`` (Playwright). Playwright drives that binary through ``executable_path``;
``playwright install`` is never needed. The screenshot goes to ``tests/artifacts/`` (gitignored).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("XLT_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
FLAGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--disable-gpu", "--disable-dev-shm-usage"]


def _browser_or_skip():
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's package with `apt-get install -y chromium` "
                    "(or set XLT_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: `pip install -e '.[browser]'`")
    return sync_playwright


def _column(page, table: str, index: int) -> list[str]:
    return page.eval_on_selector_all(f"#{table} tbody tr", f"rows => rows.map(r => r.cells[{index}].textContent)")


@pytest.mark.slow
def test_leaderboard_page_sorts_and_shows_figures(tmp_path):
    sync_playwright = _browser_or_skip()
    from fixtures_report import write_demo

    from harness.results.gains import gains
    from harness.results.html import build
    from harness.results.leaderboard import load_rows

    rows = [r for r in load_rows(write_demo(tmp_path / "demo")) if r["task"] == "xnli"]
    page_path = build(rows, gains(rows, n_boot=100), tmp_path / "site")
    profile = tmp_path / "profile"
    with sync_playwright() as pw:
        # a fresh profile folder (Playwright passes it as --user-data-dir)
        browser = pw.chromium.launch_persistent_context(str(profile), executable_path=str(CHROMIUM), headless=True,
                                                        args=FLAGS, viewport={"width": 1400, "height": 1000})
        try:
            page = browser.new_page()
            requests: list[str] = []
            page.on("request", lambda req: requests.append(req.url))
            page.goto(page_path.resolve().as_uri())
            page.wait_for_load_state("load")
            assert page.title() == "xlt-harness leaderboard"

            # figures: every <img> decoded with a real size
            sizes = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.complete, i.naturalWidth])")
            assert len(sizes) == 4 and all(done and width > 100 for done, width in sizes), sizes

            # sort the provenance table by value (column 9): ascending, then descending on a second click
            values = [float(v) for v in _column(page, "provenance", 9)]
            header = page.locator("#provenance th", has_text="value")
            header.click()
            assert [float(v) for v in _column(page, "provenance", 9)] == sorted(values)
            assert header.get_attribute("aria-sort") == "ascending"
            header.click()
            assert [float(v) for v in _column(page, "provenance", 9)] == sorted(values, reverse=True)

            # sort the gains table by model name, text order
            page.locator("#gains th", has_text="model").first.click()
            assert _column(page, "gains", 0) == sorted(_column(page, "gains", 0))

            # no sideways scroll at 1400 px; partial benchmark scores are folded away until opened
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert page.locator("#benchmarks-partial").count() == 1
            assert not page.locator("#benchmarks-partial").is_visible()
            page.locator("details summary", has_text="partial benchmark scores").click()
            assert page.locator("#benchmarks-partial").is_visible()

            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / "leaderboard.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            assert all(u.startswith("file://") for u in requests), requests  # no network
        finally:
            browser.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.mark.slow
def test_committed_real_study_page_opens(tmp_path):
    """The real study's committed page (docs/real-offline.md) opens from the file system: its figures decode, its
    gain table holds both depths on the depth axis (never "model size"), nothing says synthetic, no sideways
    scroll at 1400 px, no request leaves the file system."""
    sync_playwright = _browser_or_skip()
    page_path = Path(__file__).resolve().parents[1] / "leaderboards" / "real-offline-report" / "index.html"
    assert page_path.exists(), "the committed page is written by `bash scripts/real-offline.sh`"
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(str(tmp_path / "profile"), executable_path=str(CHROMIUM),
                                                        headless=True, args=FLAGS,
                                                        viewport={"width": 1400, "height": 1000})
        try:
            page = browser.new_page()
            requests: list[str] = []
            page.on("request", lambda req: requests.append(req.url))
            page.goto(page_path.as_uri())
            page.wait_for_load_state("load")
            sizes = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.complete, i.naturalWidth])")
            assert sizes and all(done and width > 100 for done, width in sizes), sizes
            models = set(_column(page, "gains", 0))
            assert models == {"multilingual-e5-small@L4", "multilingual-e5-small@L12"}, models
            headings = page.eval_on_selector_all("h2", "hs => hs.map(h => h.textContent)")
            assert any("depth (layers of multilingual-e5-small)" in h for h in headings), headings
            assert not any("model size" in h for h in headings), headings
            assert page.locator("p.synthetic").count() == 0
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert all(u.startswith("file://") for u in requests), requests
        finally:
            browser.close()
