"""GET /metrics from a real server: exact values from the store, formats, caps, failures, restarts, promtool."""

from __future__ import annotations

import logging
import subprocess

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families

from rq_obs.catalog import OTHER, M
from rq_obs.store import Store, save_run
from tests.helpers.procs import PROMTOOL, need
from tests.server.runs import api_run, doc, make_run


def samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(text_or_samples, name: str, **labels) -> float | None:
    got = samples(text_or_samples) if isinstance(text_or_samples, str) else text_or_samples
    return got.get((name, tuple(sorted(labels.items()))))


def promtool_check(text: str) -> subprocess.CompletedProcess:
    return subprocess.run([need(PROMTOOL, "prometheus"), "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def filled(tmp_path) -> Store:
    store = Store(tmp_path / "store.db")
    save_run(store, make_run("a", started=1000.0, outcomes=("passed", "failed"), sha="aa11"))
    save_run(store, make_run("b", started=2000.0, outcomes=("passed", "passed"), sha="bb22"))
    save_run(store, make_run("c", started=3000.0, outcomes=("failed", "passed"), sha="bb22", variant="terse"))
    save_run(store, api_run("api"))
    return store


def test_values_equal_what_was_stored(serve, filled):
    srv = serve(filled)
    reply = srv.metrics()
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    s = samples(reply.body.decode())
    t0, t1 = "tests/test_x.py::test_0", "tests/test_x.py::test_1"
    att = M.TEST_ATTEMPTS.total
    assert value(s, att, suite="shop", test=t0, outcome="passed", variant="control") == 2
    assert value(s, att, suite="shop", test=t1, outcome="failed", variant="control") == 1
    assert value(s, att, suite="shop", test=t0, outcome="failed", variant="terse") == 1
    assert value(s, M.TEST_RUNS.total, suite="shop", status="complete") == 4
    assert value(s, M.TEST_DURATION_SECONDS.total, suite="shop", test=t1) == pytest.approx(1.5)
    h = M.TEST_ATTEMPT_DURATION
    assert value(s, h.bucket, suite="shop", outcome="passed", le="0.1") == 0
    assert value(s, h.bucket, suite="shop", outcome="passed", le="0.5") == 4  # 0.25, 0.25, 0.5, 0.5 s
    assert value(s, h.bucket, suite="shop", outcome="passed", le="+Inf") == 5
    assert value(s, h.count, suite="shop", outcome="passed") == 5
    assert value(s, h.sum, suite="shop", outcome="passed") == pytest.approx(3.0)
    assert value(s, M.RUN_SEQUENCE.name, suite="shop") == 4
    assert value(s, M.LAST_RUN_TIMESTAMP.name, suite="shop") == 1_700_000_110.0  # the api run finished last
    assert value(s, M.RUN_DURATION.name, suite="shop") == 10.0
    assert value(s, M.TRACKED_FILE.info, path="skills/SKILL.md", sha256="bb22") == 1
    assert value(s, M.TRACKED_FILE.info, path="skills/SKILL.md", sha256="aa11") is None
    assert value(s, M.TRACKED_FILE_CHANGES.total, path="skills/SKILL.md") == 1
    assert value(s, M.TRACKED_FILE_LAST_CHANGE.name, path="skills/SKILL.md") == 2000.0
    api = {"provider": "openai", "model": "gpt-4o"}
    assert value(s, M.API_REQUESTS.total, **api, status_class="4xx", code="429") == 1
    assert value(s, M.API_RETRIES.total, **api, reason="5xx") == 1
    assert value(s, M.TOKENS.total, **api, token_type="output") == 200
    assert value(s, M.API_REQUEST_DURATION.bucket, **api, le="0.5") == 1
    assert value(s, M.STORE_ROWS.name, table="runs") == 4
    assert value(s, M.STORE_ROWS.name, table="attempts") == 7
    assert value(s, M.STORE_SIZE.name) == filled.size_bytes()
    assert value(s, M.INGEST_RUNS.total, result="stored") == 0  # recorded locally, not pushed
    assert value(s, M.SCRAPE_ERRORS.total, collector="store") == 0
    assert value(s, M.BUILD_INFO.info, version=__import__("rq_obs").__version__) == 1


def test_openmetrics_when_asked(serve, filled):
    srv = serve(filled)
    reply = srv.metrics("application/openmetrics-text; version=1.0.0; charset=utf-8")
    assert reply.headers["Content-Type"].startswith("application/openmetrics-text")
    text = reply.body.decode()
    assert text.endswith("# EOF\n")
    fams = {f.name: f for f in parse_openmetrics(text)}
    attempts = fams[M.TEST_ATTEMPTS.name]
    assert attempts.type == "counter"
    assert sum(s.value for s in attempts.samples if s.name == M.TEST_ATTEMPTS.total) == 7
    assert fams[M.HOST_MEMORY_USED.name].unit == "bytes"


def test_host_metrics_through_opentelemetry(serve, filled):
    srv = serve(filled)
    s = samples(srv.metrics().body.decode())
    host = {k: v for k, v in s.items() if k[0].startswith("rqobs_host_")}
    assert set(host) == {(M.HOST_CPU.name, ()), (M.HOST_MEMORY_USED.name, ()), (M.HOST_DISK_USED.name, ())}
    assert 0.0 <= host[(M.HOST_CPU.name, ())] <= 1.0
    disk = psutil.disk_usage(str(filled.path.parent)).used
    assert abs(host[(M.HOST_DISK_USED.name, ())] - disk) < 64 * 2**20
    mem = psutil.virtual_memory().used
    assert abs(host[(M.HOST_MEMORY_USED.name, ())] - mem) < 0.2 * mem
    text = srv.metrics().body.decode()
    assert "target_info" not in text and "otel_scope" not in text
    assert value(s, M.SCRAPE_ERRORS.total, collector="host") == 0


def test_cardinality_cap_is_a_metric_and_a_log_line(serve, tmp_path, caplog):
    store = Store(tmp_path / "cap.db")
    tests = [f"t::{c}" for c in "edcba"]
    save_run(store, make_run("r", outcomes=("passed",) * 5, tests=tests))
    srv = serve(store, max_tests_per_suite=3, max_label_length=200)
    with caplog.at_level(logging.WARNING, logger="rq_obs.exporters"):
        s = samples(srv.metrics().body.decode())
    kept = {dict(k[1])["test"] for k in s if k[0] == M.TEST_ATTEMPTS.total}
    assert kept == {"t::a", "t::b", "t::c", OTHER}  # the first three by id, the rest folded
    assert value(s, M.TEST_ATTEMPTS.total, suite="shop", test=OTHER, outcome="passed", variant="control") == 2
    assert value(s, M.CARDINALITY_CAPPED.total, label="test") >= 2
    assert any("cardinality cap hit for label 'test'" in r.getMessage() for r in caplog.records)


def test_long_label_values_are_truncated_and_counted(serve, tmp_path):
    store = Store(tmp_path / "long.db")
    save_run(store, make_run("r", outcomes=("passed",), tests=["t::" + "x" * 300]))
    srv = serve(store, max_label_length=50)
    s = samples(srv.metrics().body.decode())
    assert value(s, M.TEST_ATTEMPTS.total, suite="shop", test=("t::" + "x" * 300)[:50], outcome="passed",
                 variant="control") == 1
    assert value(s, M.CARDINALITY_CAPPED.total, label="test") >= 1


class Boom:
    name = "boom"

    def collect(self):
        raise RuntimeError("exploded")


def test_a_failing_collector_is_logged_and_counted_not_fatal(serve, filled, caplog):
    from rq_obs.exporters.store import StoreCollector

    holder = {}

    def factory():
        from rq_obs.exporters.base import LabelGuard

        holder["store"] = StoreCollector(filled, LabelGuard(5000, 200))
        return [holder["store"], Boom()]

    srv = serve(filled, collectors=factory())
    with caplog.at_level(logging.ERROR, logger="rq_obs.server"):
        srv.metrics()
        reply = srv.metrics()
    assert reply.status == 200
    s = samples(reply.body.decode())
    assert value(s, M.SCRAPE_ERRORS.total, collector="boom") == 2
    assert value(s, M.TEST_RUNS.total, suite="shop", status="complete") == 4
    assert any("collector 'boom' failed" in r.getMessage() for r in caplog.records)


def test_restart_does_not_reset_counters(serve, tmp_path):
    store = Store(tmp_path / "restart.db")
    first = serve(store)
    assert first.push(doc("p1")).status == 201
    assert first.push(doc("p1")).status == 200
    before = samples(first.metrics().body.decode())
    first.stop()
    store.close()
    second = serve(Store(tmp_path / "restart.db"))
    after = samples(second.metrics().body.decode())
    counters = {k: v for k, v in before.items() if k[0].endswith(("_total", "_bucket", "_count", "_sum"))
                and not k[0].startswith(("rqobs_scrape_errors", "rqobs_cardinality"))}
    assert counters and all(after[k] == v for k, v in counters.items())
    assert value(after, M.INGEST_RUNS.total, result="stored") == 1
    assert value(after, M.INGEST_RUNS.total, result="duplicate") == 1
    assert value(after, M.INGEST_ATTEMPTS.total) == 2


def test_exposition_passes_promtool(serve, filled):
    srv = serve(filled)
    cp = promtool_check(srv.metrics().body.decode())
    assert cp.returncode == 0, cp.stdout + cp.stderr


_names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=40)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(_names | st.sampled_from(['q"uote', "back\\slash", "new\nline", "tab\tcr\r", "ünï©ødé ✓"]),
                      min_size=1, max_size=4, unique=True),
       suite=_names)
def test_any_test_name_is_stored_and_exposed_validly(serve, tmp_path_factory, names, suite):
    srv = serve(Store(tmp_path_factory.mktemp("names") / "s.db"))
    d = doc("names", suite=suite, outcomes=("passed",) * len(names), tests=names)
    assert srv.push(d).status == 201
    text = srv.metrics().body.decode()
    cp = promtool_check(text)
    assert cp.returncode == 0, cp.stdout + cp.stderr + text[:2000]
    s = samples(text)
    for name in names:
        assert value(s, M.TEST_ATTEMPTS.total, suite=suite[:200], test=name[:200], outcome="passed",
                     variant="control") == 1
    srv.stop()


def _fresh_render_equals_collect(store: Store, **caps) -> None:
    from rq_obs.exporters.base import LabelGuard
    from rq_obs.exporters.store import StoreCollector, _encode

    for om in (False, True):
        g1, g2 = LabelGuard(**caps), LabelGuard(**caps)
        fast, slow = StoreCollector(store, g1), StoreCollector(store, g2)
        assert fast.render(om) == _encode(list(slow.collect()), om)
        assert dict(g1.capped) == dict(g2.capped)
        fast.close()
        slow.close()


def test_fast_render_is_byte_identical_to_the_collector_protocol(filled, tmp_path):
    _fresh_render_equals_collect(filled, max_values=5000, max_length=200)
    store = Store(tmp_path / "weird.db")
    save_run(store, make_run("w", outcomes=("passed",) * 4, tests=['q"uote', "back\\slash", "new\nline", "x" * 90]))
    _fresh_render_equals_collect(store, max_values=2, max_length=50)


def test_new_series_and_new_values_appear_in_the_next_scrape(serve, tmp_path):
    srv = serve(Store(tmp_path / "live.db"))
    assert srv.push(doc("one", outcomes=("passed",))).status == 201
    first = samples(srv.metrics().body.decode())
    key = dict(suite="shop", test="tests/test_x.py::test_0", outcome="passed", variant="control")
    assert value(first, M.TEST_ATTEMPTS.total, **key) == 1
    assert srv.push(doc("two", outcomes=("passed", "failed"))).status == 201  # one old series, one new
    second = samples(srv.metrics().body.decode())
    assert value(second, M.TEST_ATTEMPTS.total, **key) == 2
    assert value(second, M.TEST_ATTEMPTS.total, **{**key, "test": "tests/test_x.py::test_1", "outcome": "failed"}) == 1
    assert srv.push(doc("three", outcomes=("passed",))).status == 201  # no new series: values only
    third = samples(srv.metrics().body.decode())
    assert value(third, M.TEST_ATTEMPTS.total, **key) == 3
    assert value(third, M.TEST_RUNS.total, suite="shop", status="complete") == 3
