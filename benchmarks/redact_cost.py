"""Cost of catching secrets by value (rq_obs.redact) on the plugin's hot path, against detect-secrets.

Wall time per value, best of 5 runs of 2,000 calls, both libraries in one run (read the ratio: this machine
is shared and noisy). Cases: the
innocent attribute values a test attaches (short, medium, a test id, a commit SHA), a secret, and the
same values through Yelp's detect-secrets plugins (all 27, the way a per-value check with it would run).

    python benchmarks/redact_cost.py
"""

from __future__ import annotations

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


def main() -> None:
    rows = []
    for name, value in VALUES.items():
        row = []
        for fn in (_ours(), _theirs()):
            row.append(min(timeit.repeat(lambda: fn(value), number=N, repeat=5)) / N)
        rows.append((name, *row))
    print(f"{'value':32} {'rq_obs.redact':>14} {'detect-secrets':>15} {'ratio':>7}")
    for name, ours, theirs in rows:
        print(f"{name:32} {ours * 1e6:11.2f} µs {theirs * 1e6:12.2f} µs {theirs / ours:6.0f}x")


if __name__ == "__main__":
    main()
