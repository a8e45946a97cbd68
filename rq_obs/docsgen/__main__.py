"""``python -m rq_obs.docsgen DIR``: write the generated reference pages under DIR (no MkDocs needed)."""

from __future__ import annotations

import sys
from pathlib import Path

from rq_obs.docsgen import reference_pages


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m rq_obs.docsgen DIR", file=sys.stderr)
        return 2
    out = Path(argv[0])
    for rel, text in reference_pages().items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
