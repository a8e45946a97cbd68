"""The one configuration object (like a monitoring mixin's ``_config``).

Every field has a default and a one-line reason (``why``). Values are read, in
increasing precedence, from the defaults, ``[tool.rq-obs]`` in ``pyproject.toml``
or ``rq-obs.yaml`` in the project directory, ``RQ_OBS_*`` environment variables,
and finally CLI flags. :func:`load` returns the frozen :class:`Config` together
with where each value came from.

File keys may be written with ``-`` or ``_`` (``slo-pass-rate`` = ``slo_pass_rate``).
Environment variables are ``RQ_OBS_`` + the upper-case key; lists and tables are
given as JSON (``RQ_OBS_FLAKY_BAND='[0.2, 0.8]'``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from rq_obs.configfiles import CONFIG_FILE_NAMES, ENV_PREFIX, squash
from rq_obs.errors import ConfigError
from rq_obs.inputs import read_yaml_mapping
from rq_obs.quarantine import DEFAULT_FILE as QUARANTINE_FILE

__all__ = ["Config", "Loaded", "load", "FIELDS", "SECRET_PATTERN", "is_secret_name"]

#: Names of settings or environment variables whose values are never stored or shown.
SECRET_PATTERN = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|KEY|CREDENTIAL|PRIVATE|AUTH|WEBHOOK)", re.I)


def is_secret_name(name: str) -> bool:
    """True when a variable or setting name looks like it holds a secret."""
    return bool(SECRET_PATTERN.search(name))


def _f(default: Any, why: str, check: Callable[[Any], str | None] | None = None, secret: bool = False):
    """A config field: default, one-line reason, optional range check, secret flag."""
    meta = {"why": why, "check": check, "secret": secret}
    if isinstance(default, (dict, list)):
        frozen = json.loads(json.dumps(default))
        return field(default_factory=lambda: json.loads(json.dumps(frozen)), metadata=meta)
    return field(default=default, metadata=meta)


def _ratio(v: float) -> str | None:
    return None if 0.0 <= v <= 1.0 else "a number between 0 and 1"


def _positive(v: float) -> str | None:
    return None if v > 0 else "a number greater than 0"


def _non_negative(v: float) -> str | None:
    return None if v >= 0 else "a number of 0 or more"


def _port(v: int) -> str | None:
    return None if 0 < v < 65536 else "a TCP port between 1 and 65535"


def _score(v: float) -> str | None:
    return None if 0 <= v <= 100 else "a score between 0 and 100"


def _duration(v: str) -> str | None:
    from rq_obs import durations

    return durations.problem(v)


def _band(v: list) -> str | None:
    if len(v) != 2 or not all(isinstance(x, (int, float)) for x in v):
        return "a list of two numbers [low, high]"
    lo, hi = v
    return None if 0.0 <= lo < hi <= 1.0 else "two numbers with 0 <= low < high <= 1"


def _prices(v: dict) -> str | None:
    for model, p in v.items():
        if not isinstance(p, dict):
            return f"a table per model; {model!r} is not a table"
        for k, x in p.items():
            if k not in ("input", "output", "cached"):
                return f"keys input/output/cached (USD per million tokens); {model}.{k} is unknown"
            if not isinstance(x, (int, float)) or x < 0:
                return f"a non-negative price; {model}.{k} is {x!r}"
    return None


_DIMENSIONS = ("code_quality", "test_coverage", "dependencies", "documentation", "performance")


def _weights(v: dict) -> str | None:
    for k, x in v.items():
        if k not in _DIMENSIONS:
            return f"dimensions {', '.join(_DIMENSIONS)}; {k!r} is unknown"
        if not isinstance(x, (int, float)) or x < 0:
            return f"a non-negative weight; {k} is {x!r}"
    if not any(v.values()):
        return "at least one weight greater than 0"
    return None


def _choice(*options: str) -> Callable[[str], str | None]:
    def check(v: str) -> str | None:
        return None if v in options else "one of " + ", ".join(options)

    return check


def _env_name(v: str) -> str | None:
    return None if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v) else "an environment variable name (letters, digits, _)"


def _splits(v: dict) -> str | None:
    for name, split in v.items():
        if not isinstance(split, dict) or not split:
            return f"a table of variant weights per experiment; {name!r} is not"
        for variant, w in split.items():
            if not isinstance(w, (int, float)) or isinstance(w, bool) or w <= 0:
                return f"a positive weight; {name}.{variant} is {w!r}"
    return None


def _abs_path(v: str) -> str | None:
    return None if v == "" or (v.startswith("/") and "\n" not in v) else "an absolute file path (or empty)"


def _headers(v: dict) -> str | None:
    for k, x in v.items():
        if not re.fullmatch(r"[A-Za-z0-9-]+", str(k)) or not isinstance(x, str):
            return f"a table of HTTP header names to string values; {k!r} is not"
        if is_secret_name(str(k)):
            return f"headers without credentials; {k!r} looks like one (use remote_write_password_file or remote_write_bearer_token_file)"
    return None


def _queue(v: dict) -> str | None:
    from rq_obs.stack.remote_write import QUEUE_KEYS

    for k, x in v.items():
        if k not in QUEUE_KEYS:
            return f"queue_config keys {', '.join(QUEUE_KEYS)}; {k!r} is unknown"
        if k.endswith(("deadline", "backoff")):
            if not isinstance(x, str) or _duration(x):
                return f"a duration such as 5s; {k} is {x!r}"
        elif not isinstance(x, int) or isinstance(x, bool) or x <= 0:
            return f"a positive integer; {k} is {x!r}"
    return None


def _keep_local(v: list) -> str | None:
    from rq_obs.stack.remote_write import LOCAL

    bad = [x for x in v if x not in LOCAL]
    return f"a list of {', '.join(LOCAL)}; {bad[0]!r} is unknown" if bad else None


def _globs(v: list) -> str | None:
    return None if all(isinstance(x, str) and x for x in v) else "a list of non-empty glob strings"


#: host:port[/path]; hosts as Docker names them too (compose service names may hold underscores), or [IPv6].
_TARGET = re.compile(r"(?:[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]+\]):(\d{1,5})(/[^\s?#]*)?")


def _targets(v: list) -> str | None:
    for x in v:
        m = _TARGET.fullmatch(x) if isinstance(x, str) else None
        if m is None or not 0 < int(m.group(1)) < 65536:
            return f"a list of scrape targets host:port or host:port/metrics-path (no scheme); {x!r} is not one"
    return None


@dataclass(frozen=True)
class Config:
    """Effective rq-obs settings. Build with :func:`load`; never mutate."""

    # --- test-run telemetry -------------------------------------------------------
    enabled: bool = _f(False, "the pytest plugin records only when asked (--rq-obs or enabled = true), so installing rq-obs changes no suite")
    store_path: str = _f(".rq-obs/store.db", "one durable local SQLite store per project, next to the code it describes")
    suite: str = _f("", "suite label for runs; empty means the project directory's name")
    tracked_files: list = _f(["**/SKILL.md"], "files whose content hash is recorded with every run so changes can be correlated with pass rates", _globs)
    variant_env: str = _f("RQ_OBS_VARIANT", "environment variable naming the experiment arm when no marker or fixture sets one")
    experiment_env: str = _f("RQ_OBS_EXPERIMENT", "environment variable naming the experiment when no marker sets one")
    otlp_endpoint: str = _f("", "OTLP/HTTP endpoint for spans; empty falls back to OTEL_EXPORTER_OTLP_ENDPOINT, and no export when both are unset")
    service_name: str = _f("rq-obs-tests", "OpenTelemetry service.name of test spans; dashboards select spanmetrics by it")
    price_table: dict = _f({}, "USD per million tokens per model ({model: {input, output, cached}}); empty means cost only from what tests report", _prices)
    max_attributes: int = _f(32, "free-form attributes per attempt are bounded so one test cannot bloat the store", _positive)
    retention_days: int = _f(90, "raw attempts older than this are pruned; running totals keep counters monotonic", _positive)
    # --- thresholds (SLOs, budgets, analytics) ------------------------------------
    slo_pass_rate: float = _f(0.85, "pass-rate SLO (share of passing attempts); alerts and panel thresholds use it", _ratio)
    daily_budget_usd: float = _f(25.0, "daily API cost budget in USD; the cost alerts and the budget-burn panel use it", _positive)
    regression_threshold: float = _f(0.05, "a benchmark this much slower (and significant) is a regression", _ratio)
    flaky_band: list = _f([0.3, 0.7], "a pass rate inside this band over the window marks a test flaky", _band)
    flaky_window: str = _f("7d", "window over which pass rates and flip rates are computed", _duration)
    flaky_min_attempts: int = _f(3, "a test needs this many counted attempts in the window before its pass rate can call it flaky or broken", _positive)
    analytics_all_tests: bool = _f(False, "pass rate, flip rate and stability are published only for tests that failed at least once in the window (always-passing ones are 1, 0, 100), change deltas only when not 0; true publishes them for every test (slower scrapes)")
    experiment_splits: dict = _f({}, "expected traffic split per experiment ({experiment: {variant: weight}}) for the sample-ratio-mismatch check; equal when absent", _splits)
    min_quality_score: float = _f(80.0, "lowest quality score (0-100) a release may have; gate and compare block below it", _score)
    significance_level: float = _f(0.05, "p-value below which a difference counts as significant", _ratio)
    api_retry_rate_threshold: float = _f(0.1, "retries per API request above which SREs are alerted", _non_negative)
    rate_429_threshold: float = _f(0.05, "share of API requests answered 429 above which SREs are alerted", _ratio)
    rate_5xx_threshold: float = _f(0.02, "share of API requests answered 5xx above which SREs are alerted", _ratio)
    app_error_ratio_threshold: float = _f(0.05, "share of an instrumented app's requests failing (5xx or an unhandled exception) over 5 minutes above which SREs are alerted", _ratio)
    budget_burn_threshold: float = _f(2.0, "alert when the last hour's spend, extrapolated to a day, exceeds this many daily budgets", _positive)
    no_runs_hours: int = _f(24, "alert when no test run was ingested for this many hours", _positive)
    quality_drop_threshold: float = _f(5.0, "alert when a release's quality score is this many points below the previous release's", _non_negative)
    flaky_rise_threshold: int = _f(0, "alert when a suite has more than this many additional flaky tests than a day before", _non_negative)
    quarantine_file: str = _f(QUARANTINE_FILE, "the quarantine list, committed with the code so every entry is reviewed in a PR (relative to the project directory)")
    quarantine_expiry: str = _f("14d", "default lifetime of an entry `rq-obs quarantine suggest --apply` writes: a quarantine must end", _duration)
    quarantine_end_after: int = _f(10, "a quarantined test that passed this many counted attempts in a row since it was quarantined is suggested for removal", _positive)
    quarantine_alert_count: int = _f(10, "alert when more tests than this are quarantined in a suite", _non_negative)
    # --- release quality ----------------------------------------------------------
    baseline: str = _f("previous", "one baseline snapshot per release; compare against the previous release unless a release name is given")
    quality_weights: dict = _f({"code_quality": 25, "test_coverage": 20, "dependencies": 20, "documentation": 15, "performance": 20}, "quality-score weight of each dimension; a dimension without input is left out and the rest re-weighted", _weights)
    max_regressions: int = _f(0, "gate: blocking regressions (timing and memory) allowed in a release", _non_negative)
    memory_regression_threshold: float = _f(0.10, "a benchmark whose peak memory (one value per side) grows by more than this is a memory regression", _ratio)
    regression_alpha: float = _f(0.005, "error rate of each bound of the regression detector's interval (0.005: a 99 % interval): at most this share of unchanged benchmarks is called a regression, whatever the noise", _ratio)
    max_vulnerabilities: int = _f(0, "gate: known vulnerabilities allowed in a release's dependencies", _non_negative)
    max_failing_tests: int = _f(0, "gate: tests allowed to fail in every attempt of a release's runs (a test that passed once, by a rerun or in another run, is flaky, not failing; quarantined failures do not count)", _non_negative)
    min_coverage: float = _f(0.0, "gate: minimum line coverage (0-1); 0 disables the gate until a project opts in", _ratio)
    snapshot_window: str = _f("7d", "a snapshot's pass rate counts attempts of runs at its commit, or of this window when none match", _duration)
    snapshot_env: list = _f(["CI", "GITHUB_*", "GITLAB_CI", "PYTHON*", "RQ_OBS_*", "VIRTUAL_ENV", "LANG", "TZ"], "environment variables recorded in a snapshot (globs); names that look secret are recorded as present, never their values", _globs)
    snapshot_python: str = _f("", "Python interpreter whose installed distributions a snapshot records (relative to the project directory), e.g. .venv/bin/python; empty: the project's .venv or venv when rq-obs runs from elsewhere, else the environment rq-obs runs in")
    feature_flags: dict = _f({}, "feature flags ({name: true/false}) recorded in every release snapshot so comparisons show flag changes")
    ci_coverage: bool = _f(True, "generated CI pipelines install pytest-cov and snapshot line coverage, so the quality score's test_coverage and the min_coverage gate have input")
    ci_benchmarks: bool = _f(False, "generated CI pipelines install pytest-benchmark and snapshot its JSON (on by itself when the project depends on pytest-benchmark)")
    # --- exporter / ingest --------------------------------------------------------
    exporter_host: str = _f("127.0.0.1", "rq-obs serve listens on loopback unless told otherwise")
    exporter_port: int = _f(9464, "the OpenTelemetry Prometheus exporter's conventional port", _port)
    token: str = _f("", "bearer token for POST /api/v1/runs; prefer RQ_OBS_TOKEN so it never sits in a file", secret=True)
    max_payload_bytes: int = _f(16 * 1024 * 1024, "pushes larger than this are refused with 413", _positive)
    max_tests_per_suite: int = _f(5000, "cardinality cap: tests per suite published with a test label", _positive)
    max_label_length: int = _f(200, "cardinality cap: longer label values are truncated (and counted)", _positive)
    new_series_grace: str = _f("2m", "a counter series first written less than this long ago is exported as 0, so Prometheus scrapes a 0 before its first value and increase() counts it; longer than 2 scrape intervals so at least one scrape sees the 0", _duration)
    # --- serve under hostile load (issue 17) --------------------------------------
    serve_max_connections: int = _f(2000, "open connections rq-obs serve holds at once; more get 503 and are closed (keep under `ulimit -n`, which serve raises to its hard limit)", _positive)
    serve_header_timeout: float = _f(10.0, "seconds a client has to send a request's head; slower ones get 408 and are closed", _positive)
    serve_body_timeout: float = _f(60.0, "seconds a client has to send a request's body (16 MB at 2 Mbit/s)", _positive)
    serve_idle_timeout: float = _f(15.0, "seconds a kept-alive connection may sit idle between requests", _positive)
    serve_ingest_workers: int = _f(4, "threads storing pushes; more waiting than 16 per thread get 503 with Retry-After", _positive)
    serve_discard_bytes: int = _f(64 * 1024 * 1024, "a refused push declaring at most this many bytes has its body read and dropped so the client sees the reply (413, 401...)", _positive)
    readyz_min_free_bytes: int = _f(64 * 1024 * 1024, "/readyz answers 503 when the store's disk has less free space than this", _non_negative)
    max_series: int = _f(50_000, "cardinality cap: series in the running totals (what /metrics publishes); a new series past it has its capped labels folded into __other__ (at the cap a scrape takes 0.1 s, the first after a restart 1.6 s, 5 MB; docs/BENCHMARKS.md)", _positive)
    bind_address: str = _f("127.0.0.1", "the generated stack publishes its ports on this address only (0.0.0.0: every interface)")
    # --- the generated stack ------------------------------------------------------
    prometheus_retention: str = _f("15d", "how long the generated Prometheus keeps samples (--storage.tsdb.retention.time)", _duration)
    scrape_interval: str = _f("15s", "how often Prometheus scrapes the exporter and the collector", _duration)
    evaluation_interval: str = _f("1m", "how often recording and alert rules are evaluated", _duration)
    alerts_to: str = _f("slack", "alerts go to Slack by default; teams (a Teams Workflows webhook), both, or none", _choice("slack", "teams", "both", "none"))
    slack_webhook_env: str = _f("SLACK_WEBHOOK_URL", "name of the environment variable holding the Slack webhook; the URL is never written to a file", _env_name)
    teams_webhook_env: str = _f("TEAMS_WEBHOOK_URL", "name of the environment variable holding the Microsoft Teams Workflows webhook (alerts_to = teams or both); the URL is never written to a file", _env_name)
    slack_channel: str = _f("#rq-obs-alerts", "Slack channel for alerts")
    alertmanager: bool = _f(True, "include Alertmanager in the stack for Prometheus-side alerts")
    remote_write_url: str = _f("", "optional remote_write target (Mimir/Thanos) for users who outgrow one Prometheus")
    remote_write_username: str = _f("", "basic-auth user for remote_write (Mimir, hosted endpoints); the password is read from remote_write_password_file, never from a setting")
    remote_write_password_file: str = _f("", "absolute path of a file holding the remote_write basic-auth password (a mounted secret); Prometheus reads it, rq-obs never does", _abs_path)
    remote_write_bearer_token_file: str = _f("", "absolute path of a file holding a remote_write bearer token, instead of basic auth", _abs_path)
    remote_write_headers: dict = _f({}, "extra HTTP headers on remote_write requests, e.g. {X-Scope-OrgID: team} for a Mimir/Cortex tenant or {THANOS-TENANT: team}; no credentials (those come from files)", _headers)
    remote_write_queue: dict = _f({"capacity": 10000, "max_shards": 10, "max_samples_per_send": 2000, "batch_send_deadline": "5s"}, "remote_write queue_config: rq-obs sends a few thousand series, so a few shards keep up; raise max_shards for a busier Prometheus", _queue)
    remote_write_keep_local: list = _f(["per_test", "stack"], "series remote_write drops (they stay in the local Prometheus): per_test = series with a test label (the suite-level recording rules carry their aggregates), stack = the stack's own Prometheus/collector/Tempo/Alertmanager telemetry", _keep_local)
    app_targets: list = _f([], "apps instrumented by `rq-obs instrument apply` that Prometheus scrapes (job apps) for the SRE dashboard's app panels and alerts: host:port, or host:port/path when /metrics moved; empty: no job", _targets)
    runbook_base_url: str = _f("https://github.com/rq-obs/rq-obs/blob/main/docs/RUNBOOKS.md", "every alert links its runbook section here")
    dashboard_refresh: str = _f("1m", "dashboard auto-refresh; test runs are minutes apart", _duration)
    grafana_port: int = _f(3000, "Grafana's default port", _port)
    prometheus_port: int = _f(9090, "Prometheus' default port", _port)
    # --- recording under contention (issue 14) ------------------------------------
    store_lock_wait: float = _f(5.0, "seconds the end of a test session waits for another process's write lock on the store before it keeps the run's remaining attempts in a side file next to the store (written into it at the next session or rq-obs push)", _positive)
    trace_backend: str = _f("tempo", "where the collector sends traces: Tempo (the design's default) or Jaeger v2, which can be built here from its Go module and runs in the tests and the demo", _choice("tempo", "jaeger"))
    top_tests_max: int = _f(50, "most tests a worst-N / top-k panel can show ($top): the pre-ranked per-test recording rules keep this many series per suite, so their cost does not grow with the number of tests (docs/SCALE.md)", _positive)

    def why(self, name: str) -> str:
        return _fields()[name].metadata["why"]

    def public_dict(self) -> dict[str, Any]:
        """All values, secrets masked (by name, and by value: :mod:`rq_obs.redact`), for display and generated files."""
        from rq_obs.redact import redact_tree

        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = ("***" if v else "") if f.metadata["secret"] else redact_tree(v)
        return out


def _fields() -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(Config)}


FIELDS = tuple(f.name for f in dataclasses.fields(Config))

#: Shorter environment variable names accepted too (the pytest plugin documents RQ_OBS_STORE);
#: the canonical ``RQ_OBS_<FIELD>`` wins when both are set.
ENV_ALIASES = {"store_path": "RQ_OBS_STORE"}


@dataclass(frozen=True)
class Loaded:
    config: Config
    sources: Mapping[str, str]  # field name -> "default" | file path | "env RQ_OBS_X" | "flag --x"
    files: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()  # settings files found but not read (the first one found wins)


def _type_ok(default: Any, value: Any) -> tuple[bool, Any]:
    """Is ``value`` acceptable for a field whose default is ``default``? Returns (ok, coerced)."""
    if isinstance(default, bool):
        return isinstance(value, bool), value
    if isinstance(default, int):
        return (isinstance(value, int) and not isinstance(value, bool)), value
    if isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ok, float(value) if ok else value
    if isinstance(default, str):
        return isinstance(value, str), value
    if isinstance(default, list):
        return isinstance(value, (list, tuple)), list(value) if isinstance(value, (list, tuple)) else value
    if isinstance(default, dict):
        return isinstance(value, dict), value
    return True, value


def _type_name(default: Any) -> str:
    for t, n in ((bool, "true or false"), (int, "an integer"), (float, "a number"), (str, "a string"),
                 (list, "a list"), (dict, "a table")):
        if isinstance(default, t):
            return n
    return "a value"


def _apply(values: dict, sources: dict, raw: Mapping[str, Any], origin: str, where: str,
           problems: list[str] | None = None) -> None:
    """Set each key; a bad one raises ConfigError, or with ``problems`` is appended there and skipped."""
    for key, value in raw.items():
        try:
            _apply_one(values, sources, key, value, origin, where)
        except ConfigError as exc:
            if problems is None:
                raise
            problems.append(str(exc))


def _apply_one(values: dict, sources: dict, key: Any, value: Any, origin: str, where: str) -> None:
    fields = _fields()
    name = str(key).replace("-", "_")
    if name not in fields:
        import difflib

        close = difflib.get_close_matches(name, fields, n=1, cutoff=0.75)
        if close:
            raise ConfigError(f"{where}: unknown key {key!r}; did you mean {close[0]!r}?")
        raise ConfigError(f"{where}: unknown key {key!r}; expected one of: {', '.join(sorted(fields))}")
    default = values[name]
    ok, coerced = _type_ok(default, value)
    if not ok:
        raise ConfigError(f"{where}: key {key!r} is {value!r}; expected {_type_name(default)}")
    check = fields[name].metadata["check"]
    problem = check(coerced) if check else None
    if problem:
        raise ConfigError(f"{where}: key {key!r} is {value!r}; expected {problem}")
    values[name] = coerced
    sources[name] = origin


def _read_pyproject(path: Path) -> dict | None:
    try:
        import tomllib  # type: ignore[import-not-found]
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read TOML: {exc}") from None
    tools = data.get("tool", {})
    table = tools.get("rq-obs") if isinstance(tools, dict) else None
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.rq-obs] must be a table")
    if table is None and isinstance(tools, dict):
        near = [k for k in tools if k != "rq-obs" and squash(k) == "rqobs"]
        if near:  # a settings table rq-obs would silently not read
            raise ConfigError(f"{path}: [tool.{near[0]}] is not read; rq-obs' table is [tool.rq-obs]")
    return table


def _parse_env(name: str, default: Any, text: str, var: str) -> Any:
    if isinstance(default, str):
        return text
    if isinstance(default, bool):
        low = text.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"environment {var}: {text!r}; expected true or false")
    try:
        return json.loads(text)
    except ValueError:
        raise ConfigError(f"environment {var}: {text!r}; expected {_type_name(default)} (JSON for lists and tables)") from None


def load(
    project_dir: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    config_file: str | os.PathLike | None = None,
    problems: list[str] | None = None,
) -> Loaded:
    """Read the effective configuration.

    ``project_dir`` (default: cwd) is searched for ``rq-obs.yaml`` then
    ``pyproject.toml``; ``config_file`` names one explicitly. ``overrides`` are CLI
    flag values (``None`` entries are ignored). With a ``problems`` list, every bad value is appended
    there (and the default kept) instead of raising at the first one: ``rq-obs config check`` lists them all.
    """
    env = os.environ if env is None else env
    root = Path(project_dir) if project_dir is not None else Path.cwd()
    defaults = Config()
    values = {n: getattr(defaults, n) for n in FIELDS}
    sources = {n: "default" for n in FIELDS}
    files: list[str] = []

    candidates: list[Path]
    if config_file is not None:
        candidates = [Path(config_file)]
        if not candidates[0].is_file():
            raise ConfigError(f"{config_file}: config file not found")
    else:
        candidates = [p for p in (root / name for name in CONFIG_FILE_NAMES) if p.is_file()]
    ignored: list[str] = []
    for path in candidates:
        if files:  # the first file found wins; rq-obs.yaml is meant to replace [tool.rq-obs]
            if path.suffix != ".toml" or _read_pyproject(path) is not None:
                ignored.append(str(path) + (" [tool.rq-obs]" if path.suffix == ".toml" else ""))
            continue
        try:
            raw = _read_pyproject(path) if path.suffix == ".toml" else read_yaml_mapping(path, "a mapping of settings at the top level")
        except ConfigError as exc:
            if problems is None:
                raise
            problems.append(str(exc))
            continue
        if raw is None:
            continue
        _apply(values, sources, raw, str(path), str(path) + (" [tool.rq-obs]" if path.suffix == ".toml" else ""),
               problems)
        files.append(str(path))

    for name in FIELDS:
        var = ENV_PREFIX + name.upper()
        if var not in env and ENV_ALIASES.get(name, "") in env:
            var = ENV_ALIASES[name]
        if var in env:
            try:
                parsed = _parse_env(name, values[name], env[var], var)
            except ConfigError as exc:
                if problems is None:
                    raise
                problems.append(str(exc))
                continue
            _apply(values, sources, {name: parsed}, f"env {var}", f"environment {var}", problems)

    if overrides:
        for name, value in overrides.items():
            if value is None:
                continue
            _apply(values, sources, {name: value}, f"flag --{name.replace('_', '-')}", f"option --{name.replace('_', '-')}")

    return Loaded(config=Config(**values), sources=sources, files=tuple(files), ignored=tuple(ignored))
