import re
import subprocess

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily,
                                    InfoMetricFamily)

from rq_obs.catalog import LABELS, METRICS, M, all_series_names
from tests.helpers.procs import PROMTOOL, need

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def test_names_labels_and_units_follow_conventions():
    names = [m.name for m in METRICS]
    assert len(names) == len(set(names))
    for m in METRICS:
        assert NAME.match(m.name), m.name
        assert not m.name.endswith("_total"), m.name
        assert m.help.endswith("."), m.name
        for label in m.labels:
            assert label in LABELS, f"{m.name}: label {label} has no documented source/cap"
        if m.unit in ("seconds", "bytes", "ratio", "usd", "score"):
            assert m.name.endswith("_" + m.unit), m.name
        if m.type == "histogram":
            assert m.buckets or m.exporter != "store", m.name


def test_series_names():
    assert M.TEST_ATTEMPTS.total == "rqobs_test_attempts_total"
    assert M.TRACKED_FILE.info == "rqobs_tracked_file_info"
    assert M.API_REQUEST_DURATION.bucket == "rqobs_api_request_duration_seconds_bucket"
    assert "rqobs_quality_score" in all_series_names()


class _All:
    def collect(self):
        for m in METRICS:
            if m.exporter not in ("store", "analytics", "release", "self", "instrumented", "quarantine"):
                continue
            labels = list(m.labels)
            values = ["x"] * len(labels)
            if m.type == "counter":
                fam = CounterMetricFamily(m.name, m.help, labels=labels)
                fam.add_metric(values, 1.0)
            elif m.type == "gauge":
                fam = GaugeMetricFamily(m.name, m.help, labels=labels)
                fam.add_metric(values, 1.0)
            elif m.type == "info":
                fam = InfoMetricFamily(m.name, m.help, labels=[])
                fam.add_metric([], dict(zip(labels, values)))
            else:
                fam = HistogramMetricFamily(m.name, m.help, labels=labels)
                fam.add_metric(values, [(str(b), 1.0) for b in m.buckets] + [("+Inf", 1.0)], sum_value=1.0)
            yield fam


def test_promtool_check_metrics_is_clean_for_every_published_metric():
    promtool = need(PROMTOOL, "prometheus")
    reg = CollectorRegistry(auto_describe=False)
    reg.register(_All())
    text = generate_latest(reg)
    cp = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True)
    assert cp.returncode == 0 and cp.stdout + cp.stderr == b"", (cp.stdout + cp.stderr).decode()
