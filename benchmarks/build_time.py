"""Wall time of `rq-obs build --out TMP` against the cost of importing its heavy dependencies.

Prints the median of 5 runs of each (subprocesses, same interpreter, same run) and their ratio.
Goal: the build costs at most 2x `python -c "import grafanalib.core, yaml, click"`.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 5


def _median_seconds(args: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        build = _median_seconds([sys.executable, "-m", "rq_obs", "build", "--out", str(Path(tmp) / "out")])
    imports = _median_seconds([sys.executable, "-c", "import grafanalib.core, yaml, click"])
    print(f"rq-obs build --out TMP: median of {RUNS}: {build * 1000:.0f} ms")
    print(f"import grafanalib.core, yaml, click: median of {RUNS}: {imports * 1000:.0f} ms")
    print(f"ratio: {build / imports:.2f}x (goal <= 2x)")


if __name__ == "__main__":
    main()
