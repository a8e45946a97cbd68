"""`rq-obs inputs --format html` opened in real headless Chromium: nothing fetched or run, the word cloud and the
tables are in the rendered DOM with sizes by failing attempts, hostile route text stays text."""

from __future__ import annotations

import re
import time

from rq_obs.store import Store
from rq_obs.store.records import Attempt, Run
from rq_obs.store.runs import save_run
from tests.analysis import routing_history as H
from tests.helpers.cli import run_cli
from tests.release.test_report_browser import _open

HOSTILE = "<img src=x onerror=console.error('injected')>"


def test_inputs_report_in_chromium(tmp_path, monkeypatch):
    now = 1_790_000_000.0
    store = Store(tmp_path / "store.db")
    H.write(store, now)
    save_run(store, Run("h", "s", now - 60, finished_at=now, attempts=(
        Attempt("t_h", "failed", 1.0, started_at=now - 60,
                attributes={"input": HOSTILE, "expected_route": HOSTILE, "chosen_route": "billing", "ambiguous": True}),)))
    monkeypatch.setattr(time, "time", lambda: now)
    out = tmp_path / "inputs.html"
    r = run_cli("inputs", "--store", store.path, "--format", "html", "--output", out)
    assert r.code == 0, r.err
    dom, console = _open(tmp_path, "inputs", out.read_text(encoding="utf-8"), "--dump-dom")
    assert console == []
    assert "<img" not in dom and "&lt;img src=x onerror=console.error('injected')&gt;" in dom
    sizes = dict((w, int(px)) for px, w in re.findall(r'<span style="font-size: (\d+)px;[^"]*" title="[^"]*">([^<]+)</span>', dom))
    assert sizes["wrong"] == sizes["invoice"] == 48 and sizes["order"] == 12
    assert {"img", "src", "onerror", "console", "error", "injected"} <= set(sizes)  # words of the hostile input
    assert 'id="ambiguous-pass-rate">40.0% (2 of 5)<' in dom
    png = tmp_path / "inputs.png"
    _, console = _open(tmp_path, "shot", out.read_text(encoding="utf-8"), f"--screenshot={png}",
                       "--window-size=1280,1600", "--hide-scrollbars")
    assert console == [] and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
