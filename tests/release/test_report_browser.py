"""The HTML comparison report opened in real headless Chromium: no console messages, the charts are in the
rendered DOM, a screenshot is taken; `compare --format pdf` prints through the same Chromium.

Console messages are read from Chromium's own log (``--enable-logging=stderr``: every console call and every
failed resource load is an ``INFO:CONSOLE`` line), the DOM from ``--dump-dom``."""

import subprocess

from rq_obs.compare import compare
from rq_obs.compare.report import render
from rq_obs.compare.report.browser import chromium_args
from rq_obs.config import Config
from rq_obs.snapshot.benchmarks import from_samples
from rq_obs.snapshot.store import save_snapshot
from rq_obs.store import Store
from tests.helpers.cli import run_cli
from tests.helpers.procs import need_tool
from tests.release.test_compare import FLAT, _pair

HOW = "apt-get install -y --no-install-recommends chromium (listed in .ci/tools/debian-packages.txt)"
HOSTILE = "op.<script>console.error('injected')</script>"


def _open(tmp_path, name: str, html: str, *extra: str) -> tuple[str, list[str]]:
    need_tool("chromium", HOW)
    page = tmp_path / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    args = chromium_args(tmp_path / f"profile-{name}", "--enable-logging=stderr", "--v=0", *extra, page.as_uri())
    r = subprocess.run(args, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout, [x for x in r.stderr.splitlines() if ":CONSOLE" in x]


def _comparison():
    base, head = _pair()
    head = head.__class__(**{**head.__dict__, "benchmarks": head.benchmarks + (from_samples(HOSTILE, FLAT, "runner"),)})
    base = base.__class__(**{**base.__dict__, "benchmarks": base.benchmarks + (from_samples(HOSTILE, FLAT, "runner"),)})
    return compare(base, head, Config())


def test_html_report_in_chromium(tmp_path):
    html = render(_comparison(), "html")
    dom, console = _open(tmp_path, "report", html, "--dump-dom")
    assert console == []
    assert dom.count('<svg class="chart"') == 2  # performance and quality-score charts
    assert dom.count("<rect ") == 3 + 4 and dom.count('class="threshold"') == 4
    assert "<script" not in dom and "op.&lt;script&gt;console.error('injected')&lt;/script&gt;" in dom  # autoescaped
    png = tmp_path / "report.png"
    _, console = _open(tmp_path, "shot", html, f"--screenshot={png}", "--window-size=1280,2000", "--hide-scrollbars")
    assert console == [] and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_the_console_check_sees_errors(tmp_path):
    _, console = _open(tmp_path, "bad", "<!DOCTYPE html><script>console.error('boom')</script>", "--dump-dom")
    assert len(console) == 1 and '"boom"' in console[0]


def test_compare_pdf(tmp_path):
    base, head = _pair()
    db = tmp_path / "s.db"
    store = Store(db)
    save_snapshot(store, base)
    save_snapshot(store, head)
    need_tool("chromium", HOW)
    out = tmp_path / "r.pdf"
    r = run_cli("compare", "v1.0", "v1.1", "--store", db, "--format", "pdf", "--output", out)
    assert r.code == 1 and f"pdf report written to {out}: block (risk critical)" in r.out
    assert out.read_bytes()[:5] == b"%PDF-" and out.stat().st_size > 10_000
    r = run_cli("compare", "v1.0", "v1.1", "--store", db, "--format", "pdf")
    assert r.code == 2 and "--format pdf writes a file: give --output FILE.pdf" in r.err
    r = run_cli("compare", "v1.0", "v1.1", "--store", db, "--format", "pdf", "--output", tmp_path / "x.pdf",
                env={"PATH": str(tmp_path)})
    assert r.code == 2 and "chromium not found on PATH (Debian package 'chromium'" in r.err
