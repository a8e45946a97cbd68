"""Headless Chromium (Debian ``chromium``): the HTML report printed to PDF, and opened the way tests check it.

One set of flags for every use: headless, no sandbox (containers, root), no GPU, and nothing that reaches
the network or writes outside a fresh profile (no QUIC, first-run, background networking, component
updates or sync; ``--user-data-dir`` is a new temporary directory each time).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from rq_obs.errors import UsageError

__all__ = ["FLAGS", "chromium_args", "html_to_pdf"]

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


def chromium_args(user_data_dir: Path, *extra: str) -> list[str]:
    return ["chromium", *FLAGS, f"--user-data-dir={user_data_dir}", *extra]


def html_to_pdf(html: str, out: Path, timeout: float = 120) -> None:
    """Print ``html`` to the PDF file ``out`` with Chromium; UsageError naming the Debian package when it is absent."""
    from rq_obs.proc import run

    out = Path(out).resolve()
    with tempfile.TemporaryDirectory(prefix="rq-obs-pdf-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        r = run(chromium_args(Path(tmp) / "profile", f"--print-to-pdf={out}", "--no-pdf-header-footer",
                              page.as_uri()), timeout=timeout)
    if not out.is_file() or out.read_bytes()[:5] != b"%PDF-":
        tail = " ".join(r.stderr.strip().splitlines()[-2:])[:300]
        raise UsageError(f"chromium did not print {out} (exit {r.returncode}): {tail}")
