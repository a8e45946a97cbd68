"""The generated stack is closed by default: one place applies the security settings to every Compose service.

:func:`harden` runs last in :func:`rq_obs.stack.compose.document`, over every service there (a service added
later gets the same settings):

* every published port is bound to ``bind_address`` (127.0.0.1 unless the config says otherwise): Prometheus,
  its remote-write receiver, OTLP 4317/4318 and the rest are reachable from this host and from the stack's
  own network only;
* ``user:`` a non-root uid (the one each image is built for; :data:`DEFAULT_USER` for an image not listed);
* ``read_only: true`` with a ``/tmp`` tmpfs (each service writes only to its named volume);
* ``cap_drop: [ALL]`` and ``no-new-privileges``;
* memory and CPU limits (:data:`LIMITS`);
* Grafana: the admin password required from ``GF_ADMIN_PASSWORD`` (Compose refuses to start without it, as
  with the Slack webhook), anonymous access and sign-up off.

Prometheus runs without ``--web.enable-lifecycle`` (:func:`rq_obs.stack.prometheus.flags`): nobody can stop
it or reload it over HTTP. :func:`problems` is what ``rq-obs validate`` checks, naming service and setting.
"""

from __future__ import annotations

import re
from typing import Any

from rq_obs.config import Config

__all__ = ["harden", "problems", "USERS", "DEFAULT_USER", "LIMITS", "GRAFANA_PASSWORD_ENV", "grafana_password"]

#: uid:gid each image's process is built to run as (its data directories are owned by it)
USERS = {"grafana": "472:0", "prometheus": "65534:65534", "alertmanager": "65534:65534", "tempo": "10001:10001",
         "otel-collector": "10001:10001", "rq-obs": "10001:10001"}
DEFAULT_USER = "10001:10001"
#: memory and CPU limits per service (deploy.resources.limits); other services get the default
LIMITS = {"prometheus": ("2g", "1.0"), "grafana": ("512m", "0.5"), "tempo": ("1g", "0.5"),
          "otel-collector": ("512m", "0.5"), "alertmanager": ("256m", "0.25"), "rq-obs": ("1g", "1.0")}
DEFAULT_LIMIT = ("512m", "0.5")
GRAFANA_PASSWORD_ENV = "GF_ADMIN_PASSWORD"
_PORT = re.compile(r"^(?:(?P<ip>\[[0-9a-fA-F:]+\]|[0-9.]+):)?(?P<host>\d+(?:-\d+)?):(?P<container>\d+(?:-\d+)?(?:/\w+)?)$")
_ENV_REF = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]+\}$")
_ADMIN_FLAGS = ("--web.enable-lifecycle", "--web.enable-admin-api")


def grafana_password() -> str:
    return "${" + GRAFANA_PASSWORD_ENV + ":?set " + GRAFANA_PASSWORD_ENV + " to the Grafana admin password}"


def _bind(port: str, address: str) -> str:
    m = _PORT.match(str(port))
    if m is None or m.group("ip"):
        return port
    host = f"[{address}]" if ":" in address else address
    return f"{host}:{m.group('host')}:{m.group('container')}"


def harden(services: dict[str, Any], config: Config) -> dict[str, Any]:
    """``services`` (Compose) with the settings above applied to each, in place; returned."""
    for name, svc in services.items():
        if "ports" in svc:
            svc["ports"] = [_bind(p, config.bind_address) for p in svc["ports"]]
        svc.setdefault("user", USERS.get(name, DEFAULT_USER))
        svc.setdefault("read_only", True)
        tmpfs = list(svc.get("tmpfs", []))
        if "/tmp" not in tmpfs:
            tmpfs.append("/tmp")
        svc["tmpfs"] = tmpfs
        svc.setdefault("cap_drop", ["ALL"])
        svc.setdefault("security_opt", ["no-new-privileges:true"])
        memory, cpus = LIMITS.get(name, DEFAULT_LIMIT)
        svc.setdefault("deploy", {}).setdefault("resources", {}).setdefault("limits", {"cpus": cpus, "memory": memory})
    grafana = services.get("grafana")
    if grafana is not None:
        env = grafana.setdefault("environment", {})
        env.update({"GF_SECURITY_ADMIN_PASSWORD": grafana_password(), "GF_AUTH_ANONYMOUS_ENABLED": "false",
                    "GF_USERS_ALLOW_SIGN_UP": "false"})
    return services


def _env(svc: dict) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def problems(doc: Any) -> list[str]:
    """Security settings missing from a Compose document, each naming the service and the setting."""
    out: list[str] = []
    services = doc.get("services") if isinstance(doc, dict) else None
    if not isinstance(services, dict):
        return out
    from rq_obs.redact import secret_kind

    for name, svc in sorted(services.items()):
        if not isinstance(svc, dict):
            continue
        for port in svc.get("ports") or []:
            if isinstance(port, dict):  # the long syntax
                text, bound = str(port.get("published", "")), port.get("host_ip")
            else:
                text = str(port)
                m = _PORT.match(text)
                bound = m.group("ip") if m else None
            if not bound:
                out.append(f"service {name}: ports {text!r} is published on every interface; bind it to an address "
                           f"(bind_address, e.g. 127.0.0.1:{text})")
        user = str(svc.get("user", "")).split(":", 1)[0]
        if user in ("", "0", "root"):
            out.append(f"service {name}: user is {svc.get('user', 'not set')!r}; run as a non-root uid (user: 10001:10001)")
        if svc.get("read_only") is not True:
            out.append(f"service {name}: read_only is not true; make the root file system read-only")
        limits = (((svc.get("deploy") or {}).get("resources") or {}).get("limits") or {})
        if not limits.get("memory") and not svc.get("mem_limit"):
            out.append(f"service {name}: no memory limit (deploy.resources.limits.memory)")
        command = svc.get("command") or []
        flags = command if isinstance(command, list) else str(command).split()
        for flag in _ADMIN_FLAGS:
            if flag in flags:
                out.append(f"service {name}: command has {flag}: an admin API anyone who reaches it can use")
        env = _env(svc)
        for key, value in sorted(env.items()):
            kind = secret_kind(value)
            if kind and not value.startswith("${"):
                out.append(f"service {name}: environment {key} holds a literal secret ({kind}); use a ${{VAR:?...}} "
                           f"reference")
        if name == "grafana":
            password = env.get("GF_SECURITY_ADMIN_PASSWORD", "")
            if not _ENV_REF.match(password):
                out.append(f"service grafana: environment GF_SECURITY_ADMIN_PASSWORD must be a required reference "
                           f"({grafana_password()}), not {'unset' if not password else 'a literal'}")
            if env.get("GF_AUTH_ANONYMOUS_ENABLED", "false").lower() != "false":
                out.append("service grafana: environment GF_AUTH_ANONYMOUS_ENABLED must be false")
            if env.get("GF_USERS_ALLOW_SIGN_UP", "").lower() != "false":
                out.append("service grafana: environment GF_USERS_ALLOW_SIGN_UP must be false")
    return out
