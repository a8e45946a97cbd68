"""Cost of catching secrets by value (rq_obs.redact) on the plugin's hot path, against detect-secrets.

Counts instructions with callgrind when run under it (``--callgrind``: re-runs itself under valgrind, one
process per case, and prints instructions per value), else wall time per value (best of 5). Cases: the
innocent attribute values a test attaches (short, medium, a test id, a commit SHA), a secret, and the
same values through Yelp's detect-secrets plugins (all 27, the way a per-value check with it would run).

    python benchmarks/redact_cost.py [--callgrind]
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import timeit

VALUES = {
    "short (v7)": "v7",
    "medium (prompt-v7-2024-05-01)": "prompt-v7-2024-05-01",
    "test id (80 chars)": "tests/test_api.py::TestHTTPServer2Handler::test_post_with_body[case-12-utf8-long]",
    "commit SHA": "3f786850e387550fdab836ed7e6dc881de23001b",
    "GitHub token": "ghp_" + "Zq8" * 12,
}
N = 2000


def _ours():
    from rq_obs.redact import redact

    return redact


def _theirs():
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.settings import default_settings

    ctx = default_settings()
    ctx.__enter__()
    plugins = [cls() for cls in get_mapping_from_secret_type_to_class().values()]
    return lambda v: [m for p in plugins for m in p.analyze_string(v)]


def _case(which: str, name: str) -> None:
    fn = _ours() if which == "rq_obs.redact" else _theirs()
    value = VALUES[name]
    if os.environ.get("RQ_OBS_BENCH_CG"):
        from ctypes import CDLL  # noqa: F401 - valgrind's client requests are not needed: toggle by function

        _measured(fn, value)
        return
    best = min(timeit.repeat(lambda: fn(value), number=N, repeat=5)) / N
    print(f"{which:14} {name:32} {best * 1e6:8.2f} µs/value")


def _measured(fn, value) -> None:
    for _ in range(N):
        fn(value)


def main() -> None:
    if "--case" in sys.argv:
        i = sys.argv.index("--case")
        _case(sys.argv[i + 1], sys.argv[i + 2])
        return
    cg = "--callgrind" in sys.argv
    for which in ("rq_obs.redact", "detect-secrets"):
        for name in VALUES:
            if not cg:
                _case(which, name)
                continue
            out = tempfile.mktemp(suffix=".cg")
            env = {**os.environ, "RQ_OBS_BENCH_CG": "1"}
            subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--toggle-collect=_measured",
                            sys.executable, __file__, "--case", which, name], env=env, capture_output=True, check=True)
            text = open(out).read()
            os.unlink(out)
            total = int(re.search(r"^summary: (\d+)", text, re.M).group(1))
            print(f"{which:14} {name:32} {total / N:10.0f} instructions/value")


if __name__ == "__main__":
    main()
