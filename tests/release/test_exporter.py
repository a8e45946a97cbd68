import subprocess

from prometheus_client import CollectorRegistry, generate_latest

from rq_obs.catalog import M, iter_exporter
from rq_obs.config import Config
from rq_obs.exporters.base import LabelGuard
from rq_obs.exporters.release import ReleaseCollector
from rq_obs.snapshot.benchmarks import from_samples
from rq_obs.snapshot.model import Dependency, TestSummary
from rq_obs.snapshot.store import save_snapshot
from rq_obs.store import Store
from tests.helpers.procs import PROMTOOL, need
from tests.release.factory import ENV, make, vuln

BASE = (0.0100, 0.0101, 0.0099, 0.0100, 0.0102, 0.0098)  # median 0.0100, mean 0.0100


def _fill(store):
    score1 = {"total": 80.0, "dimensions": {"code_quality": 80.0, "test_coverage": None, "dependencies": None,
                                             "documentation": None, "performance": None}, "missing": []}
    save_snapshot(store, make("v1", 1000.0, commit="a" * 40, score=score1, benchmarks=[from_samples("op", BASE, "runner")],
                              dependencies=(Dependency("click", "8.1.7", "direct", license="BSD-3-Clause"),
                                            Dependency("six", "1.16.0", "transitive", license="MIT"))))
    score2 = {"total": 75.5, "dimensions": {"code_quality": 80.0, "test_coverage": 90.0, "dependencies": 85.0,
                                             "documentation": None, "performance": 50.0}, "missing": ["documentation"]}
    env = {**ENV, "memory": {**ENV["memory"], "total_bytes": 17179869184}}
    save_snapshot(store, make("v2", 2000.0, commit="b" * 40, score=score2, baseline="v1", coverage=0.9, env=env,
                              benchmarks=[from_samples("op", [x * 1.3 for x in BASE], "runner")],
                              vulns=[vuln("GHSA-1", "click", "8.2.0", "high")],
                              tests=TestSummary(9, 1, 0, 0, 1, "commit b"),
                              dependencies=(Dependency("click", "8.2.0", "direct", license="BSD-3-Clause"),
                                            Dependency("httpx", "0.27.2", "direct", license="BSD-3-Clause"))))


def _scrape(store):
    reg = CollectorRegistry()
    collector = ReleaseCollector(store, Config(), LabelGuard(5000, 200))
    reg.register(collector)
    return collector, generate_latest(reg).decode()


def test_exposition_values(tmp_path):
    store = Store(tmp_path / "s.db")
    _fill(store)
    _, text = _scrape(store)
    lines = set(text.splitlines())
    expected = [
        f'{M.RELEASE.info}{{commit="aaaaaaaaaaaa",release="v1"}} 1.0',
        f'{M.RELEASE_TIMESTAMP.name}{{release="v2"}} 2000.0',
        f'{M.QUALITY_SCORE.name}{{release="v1"}} 80.0',
        f'{M.QUALITY_SCORE.name}{{release="v2"}} 75.5',
        f'{M.QUALITY_DIMENSION.name}{{dimension="performance",release="v2"}} 50.0',
        f'{M.QUALITY_DIMENSION_MISSING.name}{{dimension="documentation",release="v2"}} 1.0',
        f'{M.QUALITY_DIMENSION_MISSING.name}{{dimension="performance",release="v2"}} 0.0',
        f'{M.RELEASE_PASS_RATE.name}{{release="v2"}} 0.9',
        f'{M.RELEASE_COVERAGE.name}{{release="v2"}} 0.9',
        f'{M.BENCHMARK_SECONDS.name}{{operation="op",release="v1",stat="p50"}} 0.01',
        f'{M.BENCHMARK_SECONDS.name}{{operation="op",release="v1",stat="max"}} 0.0102',
        f'{M.REGRESSIONS.name}{{release="v2",severity="critical"}} 1.0',
        f'{M.REGRESSIONS.name}{{release="v2",severity="minor"}} 0.0',
        f'{M.DEPENDENCIES.name}{{kind="direct",release="v2"}} 2.0',
        f'{M.DEPENDENCIES.name}{{kind="transitive",release="v1"}} 1.0',
        f'{M.DEPENDENCY_CHANGES.name}{{change="added",release="v2"}} 1.0',
        f'{M.DEPENDENCY_CHANGES.name}{{change="removed",release="v2"}} 1.0',
        f'{M.DEPENDENCY_CHANGES.name}{{change="minor",release="v2"}} 1.0',
        f'{M.VULNERABILITIES.name}{{release="v2",severity="high"}} 1.0',
        f'{M.VULNERABILITIES.name}{{release="v2",severity="critical"}} 0.0',
        f'{M.LICENSES.name}{{license="BSD-3-Clause",release="v2"}} 2.0',
        f'{M.LICENSES.name}{{license="MIT",release="v1"}} 1.0',
        f'{M.ENV_CPU_CORES.name}{{kind="logical",release="v1"}} 4.0',
        f'{M.ENV_MEMORY.name}{{release="v2"}} 1.7179869184e+10',
        f'{M.ENV_DRIFT.name}{{release="v2"}} 1.0',
    ]
    missing = [e for e in expected if e not in lines]
    assert not missing, missing
    slow = [x for x in lines if x.startswith(M.REGRESSION_RATIO.name + "{")]
    assert len(slow) == 1 and slow[0].startswith(f'{M.REGRESSION_RATIO.name}{{operation="op",release="v2",severity="critical"}} 0.3')
    assert abs(float(slow[0].split()[-1]) - 0.3) < 1e-12
    env_info = [x for x in lines if x.startswith(M.ENVIRONMENT.info + "{") and 'release="v1"' in x]
    assert env_info == [f'{M.ENVIRONMENT.info}{{container="none",cpu_model="Test CPU 3000",kernel="6.1.0",os="Linux",'
                        f'python_implementation="CPython",python_version="3.11.7",release="v1"}} 1.0']
    # v1 has no baseline: no regression / change / drift series for it, and no vulnerability series (not scanned)
    assert not [x for x in lines if 'release="v1"' in x and x.split("{")[0] in (
        M.REGRESSIONS.name, M.DEPENDENCY_CHANGES.name, M.ENV_DRIFT.name, M.VULNERABILITIES.name)]
    for m in iter_exporter("release"):
        assert f"# TYPE {m.name if m.type != 'info' else m.info} " in text or f"# TYPE {m.name} " in text


def test_cache_refreshes_when_snapshots_change_and_corrupt_rows_are_skipped(tmp_path):
    store = Store(tmp_path / "s.db")
    _fill(store)
    collector, text = _scrape(store)
    assert f'{M.QUALITY_SCORE.name}{{release="v2"}} 75.5' in text
    with store.transaction() as conn:
        conn.execute("UPDATE release_snapshots SET document = '{bad', created_at = 1500 WHERE release = 'v1'")
    reg = CollectorRegistry()
    reg.register(collector)
    text = generate_latest(reg).decode()
    assert 'release="v1"' not in text and f'{M.QUALITY_SCORE.name}{{release="v2"}} 75.5' in text


def test_only_the_last_50_releases_are_published(tmp_path):
    store = Store(tmp_path / "s.db")
    for i in range(53):
        save_snapshot(store, make(f"r{i:02d}", float(i)))
    _, text = _scrape(store)
    releases = {line.split('release="')[1].split('"')[0] for line in text.splitlines()
                if line.startswith(M.RELEASE_TIMESTAMP.name + "{")}
    assert len(releases) == 50 and "r00" not in releases and "r52" in releases


def test_promtool_check_metrics(tmp_path):
    store = Store(tmp_path / "s.db")
    _fill(store)
    _, text = _scrape(store)
    cp = subprocess.run([need(PROMTOOL, "prometheus"), "check", "metrics"], input=text, capture_output=True, text=True)
    assert cp.returncode == 0, cp.stdout + cp.stderr
