"""What the process running a test knows about it: markers, category, variant and experiment.

Computed once per test item (cached in the item's stash by the plugin, so reruns reuse it)
in the process that runs the test, because under xdist the controller has no items.
"""

from __future__ import annotations

from typing import Any, Mapping

from rq_obs.quarantine import MARKER as QUARANTINED

__all__ = ["BUILTIN_MARKERS", "VARIANT_MARKER", "EXPERIMENT_MARKER", "LiveEnviron", "describe_item"]

VARIANT_MARKER = "rq_obs_variant"
EXPERIMENT_MARKER = "rq_obs_experiment"
#: Markers that say how a test runs, not what it is about; never a category.
BUILTIN_MARKERS = frozenset({
    "parametrize", "skip", "skipif", "xfail", "usefixtures", "filterwarnings", "tryfirst", "trylast",
    "flaky", "timeout", "asyncio", "anyio", "no_cover", "django_db",
    QUARANTINED,  # added by the quarantine plugin: a flag on the attempt, not what the test is about
})


class LiveEnviron:
    """``os.environ.get`` for a name looked up once per test, without paying for a miss.

    ``os.environ.get`` of an unset name raises and catches a ``KeyError`` inside ``Mapping.get``:
    ~8,000 instructions, twice per test (variant and experiment variables, usually unset). CPython's
    ``os.environ`` keeps its data in a dict of encoded names (``_data``), which a plain ``dict.get``
    reads in ~1,000: still live (a test or fixture that sets the variable is seen by the next test).
    Any other mapping, or an ``os.environ`` without those internals, is read with its own ``get``.
    """

    __slots__ = ("get",)

    def __init__(self, environ: Mapping[str, str]):
        data = getattr(environ, "_data", None)
        encodekey = getattr(environ, "encodekey", None)
        decodevalue = getattr(environ, "decodevalue", None)
        if type(data) is not dict or not callable(encodekey) or not callable(decodevalue):
            self.get = environ.get
            return
        keys: dict[str, Any] = {}

        def get(name: str) -> str | None:
            key = keys.get(name)
            if key is None:
                key = keys[name] = encodekey(name)
            value = data.get(key)
            return None if value is None else decodevalue(value)

        self.get = get


def _first_arg(mark: Any) -> str | None:
    if mark.args:
        return str(mark.args[0])[:256] or None
    for key in ("name", "value", "variant", "experiment"):
        if key in mark.kwargs:
            return str(mark.kwargs[key])[:256] or None
    return None


def describe_item(item: Any, env: Mapping[str, str], variant_env: str, experiment_env: str) -> dict:
    """{'markers': [...], 'category': str, 'variant': str, 'experiment': str} for a pytest item.

    Category: the closest marker that is not builtin (see :data:`BUILTIN_MARKERS`) nor rq-obs's own.
    Variant: marker ``rq_obs_variant("B")``, else the ``variant_env`` variable, else ``control``
    (the ``rq_obs`` fixture can still override it per attempt). Experiment: marker
    ``rq_obs_experiment("name")``, else ``experiment_env``, else ``none``.
    """
    markers: list[str] = []
    category = variant = experiment = None
    node = item
    while node is not None:  # item.iter_markers() without its three nested generators (closest node first)
        for mark in node.own_markers:
            name = mark.name
            if name not in markers:
                markers.append(name)
            if name == VARIANT_MARKER:
                variant = variant or _first_arg(mark)
            elif name == EXPERIMENT_MARKER:
                experiment = experiment or _first_arg(mark)
            elif category is None and name not in BUILTIN_MARKERS:
                category = name
        node = node.parent
    return {
        "markers": markers,
        "category": (category or "none")[:256],
        "variant": variant or (env.get(variant_env) or "")[:256] or "control",
        "experiment": experiment or (env.get(experiment_env) or "")[:256] or "none",
    }
