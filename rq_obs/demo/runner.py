"""Prepare a demo directory and start its services.

:func:`prepare` (no server needed): copies the example project (a git repository), writes
the generated stack with the project's settings, runs the example suite :data:`RUNS` times
through the pytest plugin (changing ``SKILL.md`` after run :data:`CHANGE_AFTER`),
snapshots two releases with benchmarks, coverage and vulnerability reports, backfills the
store into Prometheus' data directory, and writes the nightly suite's CI store.

:func:`start` then starts, on 127.0.0.1 with free ports: the Slack-compatible sink,
``rq-obs serve`` on the store, Alertmanager (the generated config, its Slack webhook read
from a file holding the sink's URL), pushes the nightly history to serve, and starts
Prometheus with the generated rules (``for:`` shortened) on the backfilled data.
:func:`push_latest` pushes today's nightly run once Prometheus has scraped serve, so the
ingest panels see a push happen.

Given the services, :func:`prepare` first starts the collector and Jaeger (:mod:`.tracing`, when
built) so the example runs export their spans; :func:`start` also serves the instrumented example
web app with its traffic (:mod:`.webapp`, when Flask is installed) and Prometheus scrapes all of them;
:func:`push_latest` then sends one more run's spans (recorded to a scratch store) so the span-metric
panels have rates.

Layout of the demo directory: ``project/`` (the example project and its store
``project/.rq-obs/store.db``), ``stack/`` (``rq-obs build`` output, what ``--docker``
runs), ``prometheus/`` (config, demo rules, ``data/``), ``alertmanager/``, ``ci/`` (the
nightly suite's store), ``logs/``.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import sys
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable

from rq_obs import proc
from rq_obs.config import Config, load
from rq_obs.demo import history, script
from rq_obs.demo.processes import Service, Services, poll
from rq_obs.demo.sink import SlackSink
from rq_obs.errors import UsageError

__all__ = ["Layout", "Prepared", "Endpoints", "REQUIRED", "check_tools", "prepare", "start", "push_latest",
           "prometheus_config", "alertmanager_config", "demo_rules"]

Say = Callable[[str], None]

#: Programs the demo runs, by Debian package.
REQUIRED = (("prometheus", "prometheus"), ("promtool", "prometheus"),
            ("prometheus-alertmanager", "prometheus-alertmanager"))


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def project(self) -> Path:
        return self.root / "project"

    @property
    def store(self) -> Path:
        return self.project / ".rq-obs" / "store.db"

    @property
    def stack(self) -> Path:
        return self.root / "stack"

    @property
    def prometheus(self) -> Path:
        return self.root / "prometheus"

    @property
    def prometheus_data(self) -> Path:
        return self.prometheus / "data"

    @property
    def alertmanager(self) -> Path:
        return self.root / "alertmanager"

    @property
    def ci_store(self) -> Path:
        return self.root / "ci" / "store.db"

    @property
    def logs(self) -> Path:
        return self.root / "logs"


@dataclass
class Prepared:
    layout: Layout
    config: Config
    commits: list[str]
    first_run_at: float
    runs_finished_at: float
    reruns: bool  # pytest-rerunfailures was available: test_order_lookup's rerun is an attempt
    backfill: object = None
    traces: object = None  # rq_obs.demo.tracing.Running when the collector runs (spans exported)


@dataclass
class Endpoints:
    serve: str
    prometheus: str
    alertmanager: str
    sink: SlackSink
    token: str = field(repr=False)

    traces: object = None  # rq_obs.demo.tracing.Running, or None
    app: object = None  # rq_obs.demo.webapp.App, or None

    def lines(self) -> list[tuple[str, str]]:
        return [("serve", self.serve), ("prometheus", self.prometheus), ("alertmanager", self.alertmanager),
                ("slack-sink", self.sink.url), *(self.traces.lines() if self.traces else []),
                *([("notes-app", self.app.url)] if self.app else [])]


def check_tools() -> dict[str, str]:
    """Paths of the programs the demo needs, or one UsageError naming every missing Debian package."""
    found, missing = {}, []
    for prog, pkg in REQUIRED:
        path = shutil.which(prog)
        if path is None:
            missing.append((prog, pkg))
        else:
            found[prog] = path
    if missing:
        pkgs = sorted({p for _, p in missing})
        raise UsageError(f"rq-obs demo needs {', '.join(p for p, _ in missing)} (Debian packages {', '.join(pkgs)}: "
                         f"apt-get install -y --no-install-recommends {' '.join(pkgs)}); or run it with --docker")
    return found


def _example() -> resources.abc.Traversable:
    return resources.files("rq_obs.demo") / "example"


def _copy_example(dest: Path) -> None:
    """The example project: ``*.py.txt`` become ``*.py``; release-only files stay in the package."""
    skip = {"SKILL.v2.md", "pip-audit-1.0.0.json", "pip-audit-1.1.0.json"} | {r[2] for r in script.RELEASES}

    def walk(node, out: Path) -> None:
        for child in node.iterdir():
            if child.name in skip or child.name == "__pycache__":
                continue
            if child.is_dir():
                walk(child, out / child.name)
                continue
            name = child.name[: -len(".txt")] if child.name.endswith(".py.txt") else child.name
            out.mkdir(parents=True, exist_ok=True)
            (out / name).write_bytes(child.read_bytes())

    walk(_example(), dest)


def _pyproject() -> str:
    import json

    def toml(v) -> str:  # the settings are strings, numbers, lists of strings and one nested table
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{json.dumps(k)} = {toml(x)}" for k, x in v.items()) + " }"
        if isinstance(v, list):
            return "[" + ", ".join(toml(x) for x in v) + "]"
        return json.dumps(v)

    body = "".join(f"{k} = {toml(v)}\n" for k, v in script.SETTINGS.items())
    return ('[project]\nname = "skill-router"\nversion = "1.1.0"\ndependencies = ["requests"]\n\n'
            '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n\n[tool.rq-obs]\n' + body)


def _git(project: Path, *args: str) -> str:
    res = proc.run(["git", "-c", "user.name=rq-obs demo", "-c", "user.email=demo@rq-obs.invalid",
                    "-c", "commit.gpgsign=false", *args], cwd=str(project), timeout=60)
    if not res.ok:
        raise UsageError(f"git {' '.join(args)} failed in {project}: {res.stderr.strip()[:300]}")
    return res.stdout.strip()


def _clean_env(extra: dict[str, str]) -> dict[str, str]:
    """The caller's environment without settings that would change what the example records."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RQ_OBS_", "PYTEST_", "OTEL_")) and k != "SLACK_WEBHOOK_URL"}
    env.update(extra)
    return env


def _run_suite(layout: Layout, run: int, otlp_endpoint: str = "", store: Path | None = None) -> None:
    env = _clean_env({"RQ_OBS_DEMO_RUN": str(run), "RQ_OBS_VARIANT": script.variant_of(run),
                      "RQ_OBS_EXPERIMENT": script.EXPERIMENT, "PYTHONDONTWRITEBYTECODE": "1",
                      **({"OTEL_EXPORTER_OTLP_ENDPOINT": otlp_endpoint} if otlp_endpoint else {})})
    res = proc.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rq-obs",
                    f"--rq-obs-store={store or layout.store}"], cwd=str(layout.project), env=env, timeout=300)
    if res.returncode not in (0, 1) or "stored in" not in res.stdout + res.stderr:  # 1: the demo has failing tests
        raise UsageError(f"example suite run {run} did not record (exit {res.returncode}):\n"
                         f"{(res.stdout + res.stderr)[-2000:]}")


def _snapshot(layout: Layout, release: str, commit: str, bench: str, vulns: str) -> None:
    work = layout.root / "releases" / release
    work.mkdir(parents=True, exist_ok=True)
    (layout.project / "bench_router.py").write_bytes((_example() / bench).read_bytes())
    (work / vulns).write_bytes((_example() / vulns).read_bytes())
    res = proc.run([sys.executable, "-m", "rq_obs", "snapshot", "--release", release, "--store", str(layout.store),
                    "--run-benchmarks", "bench_router.py", "--coverage", "coverage.json", "--vulns", str(work / vulns),
                    "--code-quality", str(script.CODE_QUALITY), "--documentation", str(script.DOCUMENTATION),
                    "--commit", commit], cwd=str(layout.project), env=_clean_env({}), timeout=300)
    if not res.ok:
        raise UsageError(f"rq-obs snapshot --release {release} failed (exit {res.returncode}): {res.stderr.strip()[-1000:]}")


def prepare(root: Path, *, say: Say = lambda s: None, runs: int = script.RUNS,
            services: Services | None = None) -> Prepared:
    """Everything before the services start (see the module doc). ``root`` must be empty or absent.

    With ``services``, the collector and Jaeger start first (when their binaries are found, see
    :func:`rq_obs.demo.tracing.start_traces`) and the example suite exports its spans to them."""
    from rq_obs import build
    from rq_obs.backfill import backfill
    from rq_obs.store.db import Store

    check_tools()
    proc.require("git")
    root = Path(root).resolve()
    if root.exists() and any(root.iterdir()):
        raise UsageError(f"{root}: the demo directory must be empty or absent (it holds a store and Prometheus data)")
    layout = Layout(root)
    _copy_example(layout.project)
    (layout.project / "pyproject.toml").write_text(_pyproject(), encoding="utf-8")
    (layout.project / ".gitignore").write_text(".rq-obs/\n__pycache__/\n", encoding="utf-8")
    config = load(layout.project, env={}).config
    say(f"generating the stack into {layout.stack}")
    build.write(layout.stack, build.collect(config))

    traces = None
    if services is not None:
        from rq_obs.demo import tracing

        traces = tracing.start_traces(services, config, layout.root / "tracing", layout.logs, say=say)
    _git(layout.project, "init", "-q", "-b", "main")
    _git(layout.project, "add", "-A")
    _git(layout.project, "commit", "-q", "-m", "skill router with its first SKILL.md")
    commits = [_git(layout.project, "rev-parse", "HEAD")]
    reruns = _has_rerunfailures()
    first = time.time()
    for run in range(1, runs + 1):
        if run == script.CHANGE_AFTER + 1:
            (layout.project / "SKILL.md").write_bytes((_example() / "SKILL.v2.md").read_bytes())
            _git(layout.project, "commit", "-q", "-am", "SKILL.md: escalation rule and examples")
            commits.append(_git(layout.project, "rev-parse", "HEAD"))
            say("changed SKILL.md (committed)")
        _run_suite(layout, run, traces.collector.otlp_http if traces and traces.collector else "")
        say(f"example suite run {run}/{runs} recorded (variant {script.variant_of(run)})")
    finished = time.time()
    for release, commit_index, bench, vulns in script.RELEASES:
        _snapshot(layout, release, commits[commit_index], bench, vulns)
        say(f"release {release} snapshotted")
    store = Store(layout.store, create=False)
    try:
        result = backfill(store, layout.prometheus_data, step=1, zero_start=True,
                          max_tests=config.max_tests_per_suite, max_label_length=config.max_label_length)
    finally:
        store.close()
    say(f"backfilled {result.stats.series} series ({result.stats.samples} samples) into {layout.prometheus_data}")
    history.write_history(layout.ci_store, time.time())
    return Prepared(layout, config, commits, first, finished, reruns, result, traces)


def _has_rerunfailures() -> bool:
    import importlib.util

    return importlib.util.find_spec("pytest_rerunfailures") is not None


def demo_rules(config: Config) -> dict[str, str]:
    """{file name: text}: the generated recording rules, and the alerts with ``for:`` = FOR_OVERRIDE."""
    from rq_obs.rules import prometheus as rules
    from rq_obs.rules.render import dump

    out = {Path(p).name: text for p, text in rules.render(config).items() if p == rules.RECORDING_PATH}
    out[Path(rules.ALERTS_PATH).name] = dump(rules.alerts_document(config, for_override=script.FOR_OVERRIDE),
                                             f"rq-obs demo: the generated alerts with for: {script.FOR_OVERRIDE}\n")
    return out


def prometheus_config(config: Config, *, serve: str, prometheus: str, alertmanager: str, rule_files: list[str],
                      extra: dict[str, str] | None = None) -> dict:
    """The generated prometheus.yml (rq_obs.stack.prometheus) pointed at the local services.

    ``extra``: {job: host:port} of the other jobs that run here (the collector's spanmetrics and
    otelcol, jaeger, apps); jobs of components that do not run (tempo) are left out."""
    from rq_obs.stack import prometheus as stack_prom

    doc = stack_prom.document(config)
    local = {"rq-obs": serve, "prometheus": prometheus, "alertmanager": alertmanager, **(extra or {})}
    doc["scrape_configs"] = [{**job, "static_configs": [{"targets": [local[job["job_name"]]]}]}
                             for job in doc["scrape_configs"] if job["job_name"] in local]
    doc["rule_files"] = rule_files
    doc["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    return doc


def alertmanager_config(config: Config, webhook_file: Path) -> dict:
    """The generated alertmanager.yml with the webhook file's local path and a short group_wait."""
    from rq_obs.stack import alertmanager as stack_am

    doc = stack_am.document(config)
    doc["route"]["group_wait"] = script.GROUP_WAIT
    for r in doc["receivers"]:
        for s in r.get("slack_configs", []):
            s["api_url_file"] = str(webhook_file)
    return doc


def _yaml(doc: dict) -> str:
    import yaml

    return yaml.safe_dump(doc, sort_keys=True, default_flow_style=False)


def start(prepared: Prepared, services: Services, *, say: Say = lambda s: None, timeout: float = 60.0) -> Endpoints:
    """Start the sink, serve, Alertmanager and Prometheus (see the module doc); ``services`` stops them."""
    tools = check_tools()
    layout, config = prepared.layout, prepared.config
    layout.logs.mkdir(parents=True, exist_ok=True)
    sink = SlackSink().start()
    services.on_stop(sink.stop)

    token = secrets.token_hex(16)  # the ingest token lives in serve's environment only
    serve = services.start_on_free_port(lambda port: Service(
        "serve", f"http://127.0.0.1:{port}",
        [sys.executable, "-m", "rq_obs", "serve", "--store", str(layout.store), "--host", "127.0.0.1",
         "--port", str(port)], layout.logs / "serve.log", ready_path="/readyz", cwd=str(layout.project),
        env=_clean_env({"RQ_OBS_TOKEN": token})), timeout)
    say(f"serve: {serve.url}")

    layout.alertmanager.mkdir(parents=True, exist_ok=True)
    webhook = layout.alertmanager / "slack_webhook_url"
    webhook.write_text(sink.url + "/services/demo", encoding="utf-8")
    (layout.alertmanager / "alertmanager.yml").write_text(_yaml(alertmanager_config(config, webhook)), encoding="utf-8")
    am = services.start_on_free_port(lambda port: Service(
        "alertmanager", f"http://127.0.0.1:{port}",
        [tools["prometheus-alertmanager"], f"--config.file={layout.alertmanager / 'alertmanager.yml'}",
         f"--storage.path={layout.alertmanager / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
         "--cluster.listen-address="], layout.logs / "alertmanager.log", ready_path="/-/ready"), timeout)

    report = _push(layout, serve.url, token)
    say(f"pushed {report} nightly runs to serve")
    # What is in the store now is the past (backfilled, or days-old nightly runs): Prometheus must
    # first see it with its totals, not as new series starting at 0 (a reset against the backfill).
    _wait_out_new_series_grace(layout.store, config, timeout)

    app = _start_app(prepared, services, say)
    scrape_config = dataclasses.replace(config, app_targets=[app.target]) if app else config
    extra = {**(prepared.traces.scrape_jobs() if prepared.traces else {}), **({"apps": app.target} if app else {})}

    rules_dir = layout.prometheus / "rules"
    rules_dir.mkdir(parents=True, exist_ok=True)
    rule_files = []
    for name, text in demo_rules(config).items():
        (rules_dir / name).write_text(text, encoding="utf-8")
        rule_files.append(str(rules_dir / name))
    def prometheus(port: int) -> Service:  # its config names its own address (self-scrape), so it is per port
        doc = prometheus_config(scrape_config, serve=serve.url.split("//")[1], prometheus=f"127.0.0.1:{port}",
                                alertmanager=am.url.split("//")[1], rule_files=rule_files, extra=extra)
        (layout.prometheus / "prometheus.yml").write_text(_yaml(doc), encoding="utf-8")
        return Service(
            "prometheus", f"http://127.0.0.1:{port}",
            [tools["prometheus"], f"--config.file={layout.prometheus / 'prometheus.yml'}",
             f"--storage.tsdb.path={layout.prometheus_data}", f"--web.listen-address=127.0.0.1:{port}",
             f"--storage.tsdb.retention.time={config.prometheus_retention}", "--rules.alert.resend-delay=1s",
             "--web.enable-lifecycle", "--enable-feature=exemplar-storage"], layout.logs / "prometheus.log",
            ready_path="/-/ready")

    prom_url = services.start_on_free_port(prometheus, timeout).url
    return Endpoints(serve.url, prom_url, am.url, sink, token, traces=prepared.traces, app=app)


def _start_app(prepared: Prepared, services: Services, say: Say):
    """The instrumented example web app and its traffic, when Flask is installed (else say what is missing)."""
    from rq_obs.demo import webapp

    missing = webapp.available()
    if missing:
        say(f"no example web app: {missing}")
        return None
    traces = prepared.traces
    endpoint = traces.collector.otlp_http if traces and traces.collector else ""
    app = webapp.start_app(services, prepared.layout.root / "app", prepared.layout.logs, otlp_endpoint=endpoint,
                           say=say)
    say(f"notes-app: {app.url} (instrumented; traffic with 4xx, 5xx and slow requests every {webapp.INTERVAL:g} s)")
    return app


def _push(layout: Layout, url: str, token: str) -> int:
    from rq_obs.push import push_pending
    from rq_obs.store.db import Store

    store = Store(layout.ci_store, create=False)
    try:
        report = push_pending(store, url, token, retries=3, backoff=0.2)
    finally:
        store.close()
    return report.pushed


def _wait_out_new_series_grace(store_path: Path, config: Config, timeout: float) -> None:
    """Until every series in serve's store is older than ``new_series_grace`` (see rq_obs.exporters.store)."""
    import sqlite3

    from rq_obs import durations

    from rq_obs.store.db import Store
    from rq_obs.store.totals import fold

    grace = durations.seconds(config.new_series_grace, "new_series_grace")
    store = Store(store_path, create=False)
    try:
        fold(store)  # the pushed attempts' counters, now rather than at serve's next fold
    finally:
        store.close()
    conn = sqlite3.connect(store_path)
    try:
        newest = conn.execute("SELECT MAX(created_at) FROM totals").fetchone()[0]
    finally:
        conn.close()
    if newest is not None:
        poll(lambda: time.time() > newest + grace, timeout, f"the store's series to be older than {grace:g}s")


def _scraped(prom_url: str, job: str) -> bool:
    return _value(prom_url, f'up{{job="{job}"}} == 1') is not None


def push_latest(prepared: Prepared, endpoints: Endpoints, *, timeout: float = 60.0) -> None:
    """Once Prometheus has scraped serve, push today's nightly run: the ingest panels see it arrive."""
    from rq_obs.rules.definitions import EXPORTER_JOB

    poll(lambda: _scraped(endpoints.prometheus, EXPORTER_JOB), timeout, "Prometheus' first scrape of rq-obs serve")
    history.write_history(prepared.layout.ci_store, time.time(), days_ago=(0,))
    _push(prepared.layout, endpoints.serve, endpoints.token)
    if prepared.traces and prepared.traces.collector:
        _spans_live(prepared, endpoints, timeout)


def _spans_live(prepared: Prepared, endpoints: Endpoints, timeout: float) -> None:
    """One more run of the example suite while Prometheus scrapes the collector, so the span-metric panels
    have rates: its spans go through the collector like the others', its record to a scratch store
    (``live/store.db``), so the demo's store and its exact figures stay those of :data:`script.RUNS` runs."""
    import sqlite3

    from rq_obs.catalog import M

    layout = prepared.layout
    scratch = layout.root / "live" / "store.db"
    scratch.parent.mkdir(parents=True, exist_ok=True)
    _run_suite(layout, script.RUNS + 1, prepared.traces.collector.otlp_http, store=scratch)
    spans = 0
    for path in (layout.store, scratch):
        conn = sqlite3.connect(path)
        try:
            spans += conn.execute("SELECT (SELECT count(*) FROM attempts a JOIN runs r ON a.run_id = r.run_id "
                                  "WHERE r.suite = ?) + (SELECT count(*) FROM runs WHERE suite = ?)",
                                  (script.SUITE, script.SUITE)).fetchone()[0]
        finally:
            conn.close()
    expr = f'sum({M.SPAN_CALLS.total}{{test_suite_name="{script.SUITE}"}})'
    poll(lambda: _value(endpoints.prometheus, expr) == spans, timeout,
         f"the example suite's {spans} spans in the collector's span metrics")


def _value(prom_url: str, expr: str) -> float | None:
    import json
    import urllib.parse
    import urllib.request

    q = urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(f"{prom_url}/api/v1/query?{q}", timeout=5) as r:
            result = json.loads(r.read())["data"]["result"]
    except (OSError, ValueError, KeyError):
        return None
    return float(result[0]["value"][1]) if result else None
