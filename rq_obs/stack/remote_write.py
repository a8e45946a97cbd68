"""Prometheus remote write to a scalable TSDB (Mimir, Thanos Receive, Cortex, a hosted endpoint).

One definition, two renderings:

* :func:`prometheus_entry`: a ``remote_write`` entry of the generated ``prometheus.yml``
  (Prometheus' own field names; credentials only as ``*_file`` paths, e.g. a mounted secret);
* :func:`operator_entry`: the same entry as a Prometheus Operator ``RemoteWriteSpec``
  (``spec.remoteWrite[]`` of a ``Prometheus`` object, kube-prometheus-stack's
  ``prometheus.prometheusSpec.remoteWrite``), credentials as references to a Kubernetes Secret.

What stays local is chosen by name (:data:`LOCAL`), turned into write relabelling that drops it
before it is sent: the per-test series (one per test of up to ``max_tests_per_suite`` tests per
suite; the suite-level recording rules carry their aggregates) and this stack's own telemetry
(Prometheus, the collector, Tempo, Alertmanager), which a central TSDB usually gets from its
own agents. A Prometheus shared with other workloads (kube-prometheus-stack's) sends only rq-obs'
series through this entry (``shared=True``: :func:`shared_keep` comes first): its scrape jobs'
series and the outputs of its recording rules.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from rq_obs.config import Config
from rq_obs.errors import ConfigError
from rq_obs.stack.prometheus import JOBS

__all__ = ["LOCAL", "QUEUE_KEYS", "STACK_JOBS", "RQ_OBS_JOBS", "enabled", "url", "relabel_rules", "shared_keep",
           "prometheus_entry", "operator_entry", "OPERATOR_QUEUE_KEYS"]

#: Jobs of the stack's own components (:data:`rq_obs.stack.prometheus.JOBS` less the data jobs).
# Prometheus first, then the others in prometheus.yml's order (the regex generated files hold)
STACK_JOBS = tuple(sorted(JOBS.keys() - {"rq-obs", "spanmetrics"}, key=["prometheus", *JOBS].index))

#: Jobs whose series are rq-obs' own in a shared Prometheus (the chart's ServiceMonitor and PodMonitor set them).
RQ_OBS_JOBS = ("rq-obs", "spanmetrics", "otelcol")

#: Names a user lists in ``remote_write_keep_local`` -> (source label, regex) of the series that stay local.
LOCAL = {
    "per_test": ("test", ".+"),
    "stack": ("job", "|".join(STACK_JOBS)),
}

#: queue_config keys a user may set (Prometheus' names) -> the Prometheus Operator's names.
OPERATOR_QUEUE_KEYS = {
    "capacity": "capacity",
    "max_shards": "maxShards",
    "min_shards": "minShards",
    "max_samples_per_send": "maxSamplesPerSend",
    "batch_send_deadline": "batchSendDeadline",
    "min_backoff": "minBackoff",
    "max_backoff": "maxBackoff",
}
QUEUE_KEYS = tuple(OPERATOR_QUEUE_KEYS)


def enabled(config: Config) -> bool:
    return bool(config.remote_write_url)


def url(config: Config) -> str:
    """The checked URL: http(s), a host, no credentials in it."""
    value = config.remote_write_url
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"remote_write_url is {value!r}; expected an http(s) URL such as "
                          "http://mimir:9009/api/v1/push")
    if parts.username or parts.password:
        raise ConfigError("remote_write_url contains credentials; generated files never hold secrets — give the "
                          "URL without user:password and set remote_write_username with remote_write_password_file "
                          "(or remote_write_bearer_token_file)")
    return value


def _check_auth(config: Config) -> None:
    problem = _auth_problem(config)
    if problem:
        raise ConfigError(problem)


def _auth_problem(config: Config) -> str | None:
    if config.remote_write_password_file and not config.remote_write_username:
        return "remote_write_password_file is set without remote_write_username (basic auth needs both)"
    if config.remote_write_username and not config.remote_write_password_file:
        return "remote_write_username is set without remote_write_password_file (basic auth needs both)"
    if config.remote_write_username and config.remote_write_bearer_token_file:
        return "remote_write_username and remote_write_bearer_token_file are both set; choose basic auth or a bearer token"
    return None


def relabel_rules(config: Config) -> list[tuple[str, str]]:
    """(source label, regex) of every series dropped before sending, in ``remote_write_keep_local`` order."""
    return [LOCAL[name] for name in config.remote_write_keep_local]


def shared_keep(config: Config) -> tuple[tuple[str, str], str]:
    """(source labels, regex) of a ``keep`` rule: series of rq-obs' jobs, and its recording rules' outputs
    (which carry no job label, or the instrumented apps' job)."""
    from rq_obs.rules.definitions import recording_rules

    names = "|".join(r.record for r in recording_rules(config))
    return ("job", "__name__"), f"({'|'.join(RQ_OBS_JOBS)});.*|[^;]*;({names})"


def prometheus_entry(config: Config, *, shared: bool = False) -> dict[str, Any]:
    """The ``remote_write`` entry of prometheus.yml (``shared``: keep only rq-obs' series, see :func:`shared_keep`)."""
    _check_auth(config)
    entry: dict[str, Any] = {"url": url(config), "send_exemplars": True,
                             "queue_config": dict(config.remote_write_queue)}
    if config.remote_write_username:
        entry["basic_auth"] = {"username": config.remote_write_username,
                               "password_file": config.remote_write_password_file}
    if config.remote_write_bearer_token_file:
        entry["authorization"] = {"type": "Bearer", "credentials_file": config.remote_write_bearer_token_file}
    return _headers_and_relabelling(config, entry, "write_relabel_configs", "source_labels", shared)


def _headers_and_relabelling(config: Config, entry: dict[str, Any], relabel_key: str, labels_key: str,
                             shared: bool) -> dict[str, Any]:
    """Add the headers and the write relabelling (the two renderings differ only in key names)."""
    if config.remote_write_headers:
        entry["headers"] = dict(config.remote_write_headers)
    relabel = []
    if shared:
        labels, regex = shared_keep(config)
        relabel.append({labels_key: list(labels), "separator": ";", "regex": regex, "action": "keep"})
    relabel += [{labels_key: [label], "regex": regex, "action": "drop"} for label, regex in relabel_rules(config)]
    if relabel:
        entry[relabel_key] = relabel
    return entry


def operator_entry(config: Config, *, auth: str = "none", secret_name: str = "",
                   username_key: str = "username", password_key: str = "password", token_key: str = "token",
                   url_override: str = "", shared: bool = False) -> dict[str, Any]:
    """The same entry as a Prometheus Operator ``RemoteWriteSpec``.

    ``auth`` is ``none``, ``basic`` (``username_key`` and ``password_key`` of Secret ``secret_name``) or
    ``bearer`` (``token_key`` of it): in Kubernetes the credentials are a Secret the user creates.
    """
    _check_auth(config)
    entry: dict[str, Any] = {"url": url_override or url(config), "sendExemplars": True,
                             "queueConfig": {OPERATOR_QUEUE_KEYS[k]: v for k, v in config.remote_write_queue.items()}}
    if auth == "basic":
        entry["basicAuth"] = {"username": {"name": secret_name, "key": username_key},
                              "password": {"name": secret_name, "key": password_key}}
    elif auth == "bearer":
        entry["authorization"] = {"type": "Bearer", "credentials": {"name": secret_name, "key": token_key}}
    return _headers_and_relabelling(config, entry, "writeRelabelConfigs", "sourceLabels", shared)
